#pragma once
// Shannon entropy of bytes, with the variance of the estimate, computed as Auditbeat's
// executable parser does (the weighted incremental mean of log2 p over byte values 0..255, see
// arXiv:1807.02603 for the variance), so that the numbers agree with Auditbeat's.

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fim::watcher {

struct Entropy {
  double entropy = 0;   // bits per byte, 0 to 8
  double variance = 0;  // of that estimate
};

// Counts bytes as they stream by.
class ByteTally {
 public:
  void add(std::span<const unsigned char> bytes);
  void add(std::string_view text);
  std::uint64_t count() const { return n_; }
  Entropy result() const;  // 0, 0 for no bytes

 private:
  std::array<std::uint64_t, 256> counts_{};
  std::uint64_t n_ = 0;
};

// The entropy of the bytes of every name together (imports_names_entropy and the like).
Entropy nameEntropy(const std::vector<std::string>& names);

}  // namespace fim::watcher
