#include "watcher/rate_limiter.h"

#include <algorithm>

namespace fim::watcher {

RateLimiter::RateLimiter(std::uint64_t bytesPerSecond, std::uint64_t burstBytes)
    : rate_(bytesPerSecond),
      burst_(static_cast<double>(burstBytes != 0 ? burstBytes : bytesPerSecond)),
      tokens_(burst_),
      last_(Clock::now()) {}

void RateLimiter::refillLocked(Clock::time_point now) {
  const std::chrono::duration<double> elapsed = now - last_;
  last_ = now;
  tokens_ = std::min(burst_, tokens_ + elapsed.count() * static_cast<double>(rate_));
}

bool RateLimiter::acquire(std::uint64_t bytes, std::stop_token stop) {
  if (stop.stop_requested()) return false;
  if (unlimited() || bytes == 0) return true;

  // Waiting for more than a full bucket could never end: wait for a full one and go into debt.
  const double needed = std::min(static_cast<double>(bytes), burst_);
  std::unique_lock lock(mutex_);
  while (true) {
    refillLocked(Clock::now());
    if (tokens_ >= needed) {
      tokens_ -= static_cast<double>(bytes);
      return true;
    }
    const std::chrono::duration<double> wait((needed - tokens_) / static_cast<double>(rate_));
    const auto deadline = Clock::now() + std::chrono::ceil<std::chrono::nanoseconds>(wait);
    // Sleeps until the tokens have accrued; returns early only on a stop request.
    (void)wake_.wait_until(lock, stop, deadline, [] { return false; });
    if (stop.stop_requested()) return false;
  }
}

}  // namespace fim::watcher
