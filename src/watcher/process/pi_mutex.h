#pragma once
// PiMutex: a mutex with priority inheritance. The process tracker's real-time thread shares its
// table with the watcher's thread, of normal priority; with a plain mutex, a watcher preempted
// while holding it on a busy machine would hold the tracker up for tens of milliseconds (measured:
// up to 160 ms), long enough for many short processes to exit unread. With inheritance the
// holder runs at the tracker's priority until it lets go.

#include <pthread.h>

namespace fim::watcher::process {

class PiMutex {
 public:
  PiMutex() {
    pthread_mutexattr_t attributes;
    ::pthread_mutexattr_init(&attributes);
    ::pthread_mutexattr_setprotocol(&attributes, PTHREAD_PRIO_INHERIT);
    ::pthread_mutex_init(&mutex_, &attributes);
    ::pthread_mutexattr_destroy(&attributes);
  }
  ~PiMutex() { ::pthread_mutex_destroy(&mutex_); }
  PiMutex(const PiMutex&) = delete;
  PiMutex& operator=(const PiMutex&) = delete;

  void lock() { ::pthread_mutex_lock(&mutex_); }
  bool try_lock() { return ::pthread_mutex_trylock(&mutex_) == 0; }
  void unlock() { ::pthread_mutex_unlock(&mutex_); }

 private:
  pthread_mutex_t mutex_;
};

}  // namespace fim::watcher::process
