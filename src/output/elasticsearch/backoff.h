#pragma once
// Exponential backoff with jitter between backoff.init and backoff.max.

#include <chrono>
#include <random>
#include <stop_token>

namespace fim::output::es {

// The wait before retry number `attempt` (1-based): init * 2^(attempt-1), capped at max, then
// "equal jitter": a uniform value in [d/2, d] given `unit` in [0, 1). Pure, for tests.
std::chrono::milliseconds backoffDelay(int attempt, std::chrono::milliseconds init, std::chrono::milliseconds max,
                                       double unit);

class Backoff {
 public:
  Backoff(std::chrono::milliseconds init, std::chrono::milliseconds max);

  // Waits for the next delay unless stop is requested first; false when stopped.
  [[nodiscard]] bool wait(std::stop_token stop);
  std::chrono::milliseconds next();  // the next delay, advancing the attempt count
  void reset() { attempt_ = 0; }
  int attempts() const { return attempt_; }

 private:
  std::chrono::milliseconds init_;
  std::chrono::milliseconds max_;
  int attempt_ = 0;
  std::mt19937_64 random_;
};

// Sleeps for `delay` unless stop is requested first; true when the whole delay passed.
[[nodiscard]] bool waitUnlessStopped(std::stop_token stop, std::chrono::milliseconds delay);

}  // namespace fim::output::es
