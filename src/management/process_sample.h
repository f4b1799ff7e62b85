#pragma once
// The agent process's own resource use, read from the kernel for /stats and /metrics.

#include <cstdint>

namespace fim::management {

struct ProcessSample {
  std::int64_t rssBytes = 0;        // /proc/self/statm resident pages
  std::int64_t cpuUserMs = 0;       // getrusage
  std::int64_t cpuSystemMs = 0;
  std::int64_t openFiles = 0;       // entries of /proc/self/fd
  std::int64_t filesSoftLimit = 0;  // RLIMIT_NOFILE
  std::int64_t filesHardLimit = 0;
  std::int64_t heapInUseBytes = 0;  // mallinfo2: bytes malloc has handed out and not taken back
};

// Each figure that cannot be read stays 0.
ProcessSample sampleProcess();

}  // namespace fim::management
