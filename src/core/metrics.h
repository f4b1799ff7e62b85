#pragma once
// Metrics: named counters and gauges that stages update and the monitoring endpoint reads.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

namespace fim::core {

// Monotonic count of something that happened (events acked, files hashed, errors).
class Counter {
 public:
  void add(std::int64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

// A level that goes up and down (queue depth, open watches).
class Gauge {
 public:
  void set(std::int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void add(std::int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

// How a value is distributed (a latency in microseconds): log-linear buckets, eight per power of
// two, so each percentile is known to within an eighth of its value. Lock-free.
class Histogram {
 public:
  void record(std::uint64_t value);
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  std::uint64_t sum() const { return sum_.load(std::memory_order_relaxed); }
  std::uint64_t max() const { return max_.load(std::memory_order_relaxed); }
  // The value at or below which the fraction `p` (0 < p <= 1) of the recorded values lie, as the
  // upper bound of its bucket (never above max()); 0 when nothing was recorded.
  std::uint64_t percentile(double p) const;

 private:
  static constexpr std::size_t kSubBuckets = 8;
  static constexpr std::size_t kBuckets = 63 * kSubBuckets;
  static std::size_t bucketOf(std::uint64_t value);
  static std::uint64_t upperBound(std::size_t bucket);

  std::array<std::atomic<std::uint64_t>, kBuckets> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_{0};
  std::atomic<std::uint64_t> max_{0};
};

// A histogram at one moment, as the monitoring endpoint reports it.
struct HistogramSample {
  std::uint64_t count = 0;
  std::uint64_t sum = 0;
  std::uint64_t p50 = 0;
  std::uint64_t p99 = 0;
  std::uint64_t max = 0;
};

// Every metric at one moment, by kind, each list sorted by name.
struct MetricSamples {
  std::vector<std::pair<std::string, std::int64_t>> counters;
  std::vector<std::pair<std::string, std::int64_t>> gauges;
  std::vector<std::pair<std::string, HistogramSample>> histograms;
};

// Registry owned by the application and passed by reference; there is no global instance.
// Names are dot-separated paths ("output.events.acked") with non-empty segments. A name is a
// counter, a gauge or a histogram; asking for it as another kind, or a malformed name, is a
// programming error and throws std::logic_error / std::invalid_argument.
class Metrics {
 public:
  Metrics() = default;
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Created on first use; the same object for the same name, valid for the registry's life.
  Counter& counter(const std::string& name);
  Gauge& gauge(const std::string& name);
  Histogram& histogram(const std::string& name);

  // Every metric's current value by kind (what the monitoring endpoint reads).
  MetricSamples samples() const;

  // Every metric's current value, sorted by name; a histogram gives <name>.count, .p50, .p99, .max.
  std::vector<std::pair<std::string, std::int64_t>> snapshot() const;

  // The snapshot as nested objects split on dots (core::nestDotted): "a.b.c"=3 gives
  // {"a":{"b":{"c":3}}}; a name that is also a prefix of others is written under "value".
  std::string toJson() const;

 private:
  template <typename Metric>
  Metric& findOrCreate(std::map<std::string, std::unique_ptr<Metric>, std::less<>>& mine, const std::string& name);
  bool taken(const std::string& name) const;  // by a metric of any kind; the caller holds the lock

  mutable std::shared_mutex mutex_;
  std::map<std::string, std::unique_ptr<Counter>, std::less<>> counters_;
  std::map<std::string, std::unique_ptr<Gauge>, std::less<>> gauges_;
  std::map<std::string, std::unique_ptr<Histogram>, std::less<>> histograms_;
};

}  // namespace fim::core
