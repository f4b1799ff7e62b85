#pragma once
// The outputs' one retry policy: exponential backoff with jitter between backoff.init and
// backoff.max, used by the OutputWorker for every failed or partly failed write.

#include <chrono>
#include <random>
#include <stop_token>

namespace fim::output {

struct RetryPolicy {
  std::chrono::milliseconds init{1000};   // backoff.init
  std::chrono::milliseconds max{60000};   // backoff.max: no wait is longer
};

// The wait before retry number `attempt` (1-based): init * 2^(attempt-1), capped at max, then
// "equal jitter": a uniform value in [d/2, d] given `unit` in [0, 1). Pure, for tests.
std::chrono::milliseconds backoffDelay(int attempt, std::chrono::milliseconds init, std::chrono::milliseconds max,
                                       double unit);

class Backoff {
 public:
  explicit Backoff(RetryPolicy policy);

  // Waits for the next delay unless stop is requested first; false when stopped.
  [[nodiscard]] bool wait(std::stop_token stop);
  std::chrono::milliseconds next();  // the next delay, advancing the attempt count
  void reset() { attempt_ = 0; }
  int attempts() const { return attempt_; }

 private:
  RetryPolicy policy_;
  int attempt_ = 0;
  std::mt19937_64 random_;
};

// Sleeps for `delay` unless stop is requested first; true when the whole delay passed.
[[nodiscard]] bool waitUnlessStopped(std::stop_token stop, std::chrono::milliseconds delay);

}  // namespace fim::output
