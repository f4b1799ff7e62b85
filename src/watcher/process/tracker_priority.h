#pragma once
// TrackerPriority: the process tracker must read /proc/<pid> between a process's exec and its
// exit, which for `touch` or `sh -c 'echo x > f'` is under a millisecond; on a loaded machine a
// thread of normal priority waits longer than that for a CPU. So the tracker's thread runs at the
// lowest real-time priority (SCHED_FIFO 1), else at nice -20, within a CPU budget: a thread that
// used more than `maxShare` of a CPU over a `window` (an exec storm) runs at normal priority until
// its use falls below half that. See docs/design/who-data.md for the measurements.

#include <chrono>
#include <cstdint>

namespace fim::watcher::process {

class TrackerPriority {
 public:
  enum class Level { RealTime, High, Normal };

  explicit TrackerPriority(double maxShare = 0.25, std::chrono::milliseconds window = std::chrono::seconds(1))
      : maxShare_(maxShare), window_(window) {}

  // Raises the calling thread as far as its privileges allow (CAP_SYS_NICE); the level reached.
  Level raise();

  // Call on the same thread after each piece of work. Returns true when it just lowered the
  // thread's priority for using more than its budget.
  bool account();

  Level level() const { return level_; }
  bool lowered() const { return lowered_; }

 private:
  void lower();

  double maxShare_;
  std::chrono::milliseconds window_;  // over which the CPU use is measured
  Level level_ = Level::Normal;
  bool lowered_ = false;
  std::chrono::steady_clock::time_point windowStart_{};
  std::chrono::nanoseconds cpuAtStart_{0};
};

const char* toString(TrackerPriority::Level level);

}  // namespace fim::watcher::process
