#include "watcher/process/tracker_priority.h"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <ctime>

namespace fim::watcher::process {
namespace {

std::chrono::nanoseconds threadCpu() {
  timespec used{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &used);
  return std::chrono::seconds(used.tv_sec) + std::chrono::nanoseconds(used.tv_nsec);
}

bool setPolicy(int policy, int priority) {
  sched_param param{};
  param.sched_priority = priority;
  return ::pthread_setschedparam(::pthread_self(), policy, &param) == 0;
}

bool setNice(int nice) { return ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), nice) == 0; }

}  // namespace

const char* toString(TrackerPriority::Level level) {
  switch (level) {
    case TrackerPriority::Level::RealTime:
      return "real-time (SCHED_FIFO 1)";
    case TrackerPriority::Level::High:
      return "high (nice -20)";
    default:
      return "normal";
  }
}

TrackerPriority::Level TrackerPriority::raise() {
  windowStart_ = std::chrono::steady_clock::now();
  cpuAtStart_ = threadCpu();
  lowered_ = false;
  if (setPolicy(SCHED_FIFO, 1)) return level_ = Level::RealTime;
  if (setNice(-20)) return level_ = Level::High;
  return level_ = Level::Normal;
}

void TrackerPriority::lower() {
  setPolicy(SCHED_OTHER, 0);
  setNice(0);
  lowered_ = true;
}

bool TrackerPriority::account() {
  if (level_ == Level::Normal) return false;
  const auto now = std::chrono::steady_clock::now();
  if (now - windowStart_ < window_) return false;
  const auto cpu = threadCpu();
  const double share = std::chrono::duration<double>(cpu - cpuAtStart_).count() /
                       std::chrono::duration<double>(now - windowStart_).count();
  windowStart_ = now;
  cpuAtStart_ = cpu;
  if (!lowered_ && share > maxShare_) {
    lower();
    return true;
  }
  if (lowered_ && share < maxShare_ / 2) raise();
  return false;
}

}  // namespace fim::watcher::process
