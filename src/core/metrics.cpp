#include "core/metrics.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>

#include "core/dotted_json.h"

namespace fim::core {

namespace {

void checkName(const std::string& name) {
  bool segmentEmpty = true;
  for (char c : name) {
    if (c == '.') {
      if (segmentEmpty) break;
      segmentEmpty = true;
    } else {
      segmentEmpty = false;
    }
  }
  if (segmentEmpty) throw std::invalid_argument("metric name '" + name + "' has an empty segment");
}

}  // namespace

std::size_t Histogram::bucketOf(std::uint64_t v) {
  if (v < kSubBuckets) return static_cast<std::size_t>(v);  // exact below 8
  const int e = std::bit_width(v) - 1;                       // v in [2^e, 2^(e+1)), e >= 3
  const auto sub = static_cast<std::size_t>((v >> (e - 3)) & (kSubBuckets - 1));
  return std::min(static_cast<std::size_t>(e - 2) * kSubBuckets + sub, kBuckets - 1);
}

std::uint64_t Histogram::upperBound(std::size_t bucket) {
  if (bucket < kSubBuckets) return bucket;
  const std::size_t e = bucket / kSubBuckets + 2;
  const std::uint64_t sub = bucket % kSubBuckets;
  return ((kSubBuckets + sub + 1) << (e - 3)) - 1;
}

void Histogram::record(std::uint64_t value) {
  buckets_[bucketOf(value)].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
  std::uint64_t seen = max_.load(std::memory_order_relaxed);
  while (value > seen && !max_.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
}

std::uint64_t Histogram::percentile(double p) const {
  const std::uint64_t total = count();
  if (total == 0) return 0;
  const auto rank = static_cast<std::uint64_t>(std::ceil(std::clamp(p, 0.0, 1.0) * static_cast<double>(total)));
  std::uint64_t seen = 0;
  for (std::size_t b = 0; b < kBuckets; ++b) {
    seen += buckets_[b].load(std::memory_order_relaxed);
    if (seen >= std::max<std::uint64_t>(rank, 1)) return std::min(upperBound(b), max());
  }
  return max();
}

bool Metrics::taken(const std::string& name) const {
  return counters_.contains(name) || gauges_.contains(name) || histograms_.contains(name);
}

template <typename Metric>
Metric& Metrics::findOrCreate(std::map<std::string, std::unique_ptr<Metric>, std::less<>>& mine,
                              const std::string& name) {
  {
    std::shared_lock lock(mutex_);
    if (auto it = mine.find(name); it != mine.end()) return *it->second;
  }
  checkName(name);
  std::unique_lock lock(mutex_);
  if (auto it = mine.find(name); it != mine.end()) return *it->second;  // another thread won the race
  if (taken(name)) throw std::logic_error("metric '" + name + "' already exists as a different kind");
  auto& slot = mine[name];
  slot = std::make_unique<Metric>();
  return *slot;
}

Counter& Metrics::counter(const std::string& name) { return findOrCreate(counters_, name); }

Gauge& Metrics::gauge(const std::string& name) { return findOrCreate(gauges_, name); }

Histogram& Metrics::histogram(const std::string& name) { return findOrCreate(histograms_, name); }

MetricSamples Metrics::samples() const {
  MetricSamples out;
  std::shared_lock lock(mutex_);
  for (const auto& [name, c] : counters_) out.counters.emplace_back(name, c->value());
  for (const auto& [name, g] : gauges_) out.gauges.emplace_back(name, g->value());
  for (const auto& [name, h] : histograms_) {
    out.histograms.emplace_back(name, HistogramSample{h->count(), h->sum(), h->percentile(0.5), h->percentile(0.99), h->max()});
  }
  return out;
}

std::vector<std::pair<std::string, std::int64_t>> Metrics::snapshot() const {
  const MetricSamples all = samples();
  std::vector<std::pair<std::string, std::int64_t>> out(all.counters.begin(), all.counters.end());
  out.insert(out.end(), all.gauges.begin(), all.gauges.end());
  for (const auto& [name, h] : all.histograms) {
    out.emplace_back(name + ".count", static_cast<std::int64_t>(h.count));
    out.emplace_back(name + ".p50", static_cast<std::int64_t>(h.p50));
    out.emplace_back(name + ".p99", static_cast<std::int64_t>(h.p99));
    out.emplace_back(name + ".max", static_cast<std::int64_t>(h.max));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string Metrics::toJson() const {
  DottedEntries entries;
  for (auto& [name, value] : snapshot()) entries.emplace_back(std::move(name), DottedValue{value});
  return nestDotted(entries);
}

}  // namespace fim::core
