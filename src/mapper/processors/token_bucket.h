#pragma once
// TokenBucket: rate_limit's algorithm, as Beats' token_bucket: one bucket per key, created full
// (depth tokens), refilled at `perSecond` tokens per second, one token per allowed event. Every
// `gcEvery` calls, buckets that have refilled completely are forgotten. Thread-safe.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace fim::mapper::processors {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  TokenBucket(double perSecond, double depth, std::uint64_t gcEvery);

  // True when the event with this key is within the limit (and takes a token).
  bool allow(const std::string& key, Clock::time_point now);
  std::size_t buckets() const;

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point refilled;
  };
  void refill(Bucket& bucket, Clock::time_point now) const;
  void collect(Clock::time_point now);

  const double perSecond_;
  const double depth_;
  const std::uint64_t gcEvery_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
  std::uint64_t calls_ = 0;
};

}  // namespace fim::mapper::processors
