#pragma once
// RateLimiter: a token bucket of bytes per second, shared by the hashing workers.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <stop_token>

namespace fim::watcher {

// Thread-safe. The bucket starts full. A request larger than the burst is granted once the
// bucket is full and leaves it in debt, so huge requests are throttled but never deadlock.
class RateLimiter {
 public:
  // bytesPerSecond 0 = unlimited. burstBytes 0 = one second's worth.
  RateLimiter(std::uint64_t bytesPerSecond, std::uint64_t burstBytes);

  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Blocks until `bytes` may pass. False when stop is (or becomes) requested: the bytes did not pass.
  [[nodiscard]] bool acquire(std::uint64_t bytes, std::stop_token stop);

  bool unlimited() const { return rate_ == 0; }

 private:
  using Clock = std::chrono::steady_clock;

  void refillLocked(Clock::time_point now);

  const std::uint64_t rate_;
  const double burst_;
  std::mutex mutex_;
  std::condition_variable_any wake_;  // only ever woken by a stop request
  double tokens_;                     // negative while in debt
  Clock::time_point last_;
};

}  // namespace fim::watcher
