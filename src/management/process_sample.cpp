#include "management/process_sample.h"

#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace fim::management {
namespace {

std::int64_t milliseconds(const timeval& t) {
  return static_cast<std::int64_t>(t.tv_sec) * 1000 + static_cast<std::int64_t>(t.tv_usec) / 1000;
}

std::int64_t residentBytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return resident * static_cast<std::int64_t>(::sysconf(_SC_PAGESIZE));
}

std::int64_t openFiles() {
  std::error_code ec;
  std::int64_t n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++n;
  return n > 0 ? n - 1 : 0;  // the iterator's own descriptor
}

}  // namespace

ProcessSample sampleProcess() {
  ProcessSample sample;
  sample.rssBytes = residentBytes();
  if (rusage usage{}; ::getrusage(RUSAGE_SELF, &usage) == 0) {
    sample.cpuUserMs = milliseconds(usage.ru_utime);
    sample.cpuSystemMs = milliseconds(usage.ru_stime);
  }
  sample.openFiles = openFiles();
  if (rlimit limit{}; ::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    sample.filesSoftLimit = static_cast<std::int64_t>(limit.rlim_cur);
    sample.filesHardLimit = static_cast<std::int64_t>(limit.rlim_max);
  }
  const struct mallinfo2 heap = ::mallinfo2();
  sample.heapInUseBytes = static_cast<std::int64_t>(heap.uordblks + heap.hblkhd);
  return sample;
}

}  // namespace fim::management
