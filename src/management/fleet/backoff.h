#pragma once
// Equal-jitter backoff, as Elastic Agent waits between attempts (pkg/backoff/equal_jitter.go):
// the step doubles from `init` with each failure in a row, up to `max`; the wait is half the step
// plus a random part of up to the other half, so that agents cut off together do not all come
// back at the same moment. Used by the checkin loop and by `fimbeat enroll`.

#include <chrono>
#include <random>

namespace fim::management::fleet {

// The wait after `failures` failures in a row (1: the first one), in [step/2, step].
std::chrono::milliseconds equalJitter(std::chrono::milliseconds init, std::chrono::milliseconds max, int failures,
                                      std::mt19937& random);

}  // namespace fim::management::fleet
