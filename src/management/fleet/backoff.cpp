#include "management/fleet/backoff.h"

#include <algorithm>

namespace fim::management::fleet {

std::chrono::milliseconds equalJitter(std::chrono::milliseconds init, std::chrono::milliseconds max, int failures,
                                      std::mt19937& random) {
  auto step = std::max(init, std::chrono::milliseconds(1));
  for (int i = 1; i < failures && step < max; ++i) step *= 2;
  step = std::min(step, max);
  std::uniform_int_distribution<long> jitter(0, std::max<long>(0, step.count() / 2));
  return std::chrono::milliseconds(step.count() / 2 + jitter(random));
}

}  // namespace fim::management::fleet
