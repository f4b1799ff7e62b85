#include "watcher/elf/entropy.h"

#include <cmath>

namespace fim::watcher {

void ByteTally::add(std::span<const unsigned char> bytes) {
  for (const unsigned char b : bytes) ++counts_[b];
  n_ += bytes.size();
}

void ByteTally::add(std::string_view text) {
  add(std::span(reinterpret_cast<const unsigned char*>(text.data()), text.size()));
}

Entropy ByteTally::result() const {
  if (n_ == 0) return {};
  // H = -sum(p log2 p) as a running mean of log2 p weighted by p, in byte-value order; the
  // variance of H is (sum(p log2² p) - H²) / n. The order of operations is Auditbeat's.
  const double n = static_cast<double>(n_);
  double mean = 0, variance = 0, weight = 0;
  for (const std::uint64_t count : counts_) {
    if (count == 0) continue;
    const double p = static_cast<double>(count) / n;
    const double log2p = std::log2(p);
    weight += p;
    const double previous = mean;
    mean = previous + (p / weight) * (log2p - previous);
    variance += p * (log2p - previous) * (log2p - mean);
  }
  variance /= n;
  return {mean == 0 ? 0.0 : -mean, variance};
}

Entropy nameEntropy(const std::vector<std::string>& names) {
  ByteTally tally;
  for (const auto& name : names) tally.add(name);
  return tally.result();
}

}  // namespace fim::watcher
