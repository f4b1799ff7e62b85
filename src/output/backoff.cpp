#include "output/backoff.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>

namespace fim::output {

std::chrono::milliseconds backoffDelay(int attempt, std::chrono::milliseconds init, std::chrono::milliseconds max,
                                       double unit) {
  const int doublings = std::clamp(attempt - 1, 0, 40);
  double full = static_cast<double>(init.count());
  for (int i = 0; i < doublings && full < static_cast<double>(max.count()); ++i) full *= 2;
  full = std::min(full, static_cast<double>(max.count()));
  const double jittered = full / 2 + full / 2 * std::clamp(unit, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(jittered));
}

Backoff::Backoff(RetryPolicy policy) : policy_(policy), random_(std::random_device{}()) {}

std::chrono::milliseconds Backoff::next() {
  ++attempt_;
  return backoffDelay(attempt_, policy_.init, policy_.max, std::uniform_real_distribution<double>(0.0, 1.0)(random_));
}

bool Backoff::wait(std::stop_token stop) { return waitUnlessStopped(stop, next()); }

bool waitUnlessStopped(std::stop_token stop, std::chrono::milliseconds delay) {
  std::mutex mutex;
  std::condition_variable_any cv;
  std::unique_lock lock(mutex);
  return !cv.wait_for(lock, stop, delay, [] { return false; }) && !stop.stop_requested();
}

}  // namespace fim::output
