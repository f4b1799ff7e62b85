#pragma once
// spinUntil: a short busy wait for something another thread is about to do, for when waking a
// sleeping thread would take longer than the wait (see BoundedQueue::expect, DurableQueue::expect).

#include <chrono>
#include <thread>

namespace fim::core {

// Yields until `done()` holds or `limit` has passed; returns done().
template <typename Done>
bool spinUntil(Done done, std::chrono::microseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::yield();
  }
  return true;
}

}  // namespace fim::core
