#pragma once
// FanotifyBackend: real-time changes from one fanotify mark per filesystem (FAN_MARK_FILESYSTEM),
// so a tree of any size costs no per-directory watches, with the process that made each change.
// Events carry directory file handles and names (FAN_REPORT_DFID_NAME); they are resolved to
// paths and filtered in user space to the roots, recursion and excludes. Needs CAP_SYS_ADMIN
// (and CAP_DAC_READ_SEARCH for open_by_handle_at) and Linux 5.9; FAN_RENAME (5.17) is used when
// the kernel has it.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/metrics.h"
#include "watcher/fanotify/change_translator.h"
#include "watcher/fanotify/directory_resolver.h"
#include "watcher/fanotify/root_matcher.h"
#include "watcher/name_cache.h"
#include "watcher/process/process_cache.h"
#include "watcher/process/process_reader.h"
#include "watcher/process/process_tracker.h"
#include "watcher/realtime/change_backend.h"

namespace fim::watcher::fanotify {

struct FanotifyOptions {
  bool useRename = true;       // FAN_RENAME + FAN_REPORT_TARGET_FID when the kernel has them
  bool unlimitedQueue = true;  // FAN_UNLIMITED_QUEUE; false: the kernel's queue (16384), then Overflow
  std::chrono::milliseconds processCacheTtl{2000};
  std::size_t maxCachedDirectories = 65536;
  std::string procRoot = "/proc";
  process::ArgsLimits args;
  // Directories whose changes (of their entries, and of files directly in them) the kernel is
  // asked not to report (FAN_MARK_IGNORE, Linux 6.0+): fimbeat's own, which change with every
  // event. On older kernels those events still come and are dropped as fimbeat's own.
  std::vector<std::string> ignoredDirectories;
  // Tracks process starts so that a process that exited before its change was read is still
  // named; started with the backend. Null: processes are read from /proc alone.
  process::ProcessTracker* tracker = nullptr;
};

struct FanotifyStats {
  std::uint64_t events = 0;
  std::uint64_t reported = 0;
  std::uint64_t ownIgnored = 0;
  std::uint64_t unresolved = 0;
  std::uint64_t blind = 0;
  std::uint64_t malformed = 0;
  std::uint64_t overflows = 0;
  std::uint64_t readErrors = 0;
};

class FanotifyBackend final : public ChangeBackend {
 public:
  // `modules` are indexed by Root::module: their excludes and includes filter the events.
  // `metrics`: when given, stats() is also published there as watcher.fanotify.* counters.
  explicit FanotifyBackend(std::vector<config::ModuleConfig> modules, FanotifyOptions options = {},
                           core::Metrics* metrics = nullptr);
  ~FanotifyBackend() override;
  FanotifyBackend(const FanotifyBackend&) = delete;
  FanotifyBackend& operator=(const FanotifyBackend&) = delete;

  const char* name() const override { return "fanotify"; }

  // Creates the group and marks every filesystem holding a root (a missing root: the filesystem
  // of its nearest existing parent). Errors: PermissionDenied without CAP_SYS_ADMIN, Unavailable
  // for a kernel or filesystem that cannot report file handles — the caller can fall back to inotify.
  [[nodiscard]] core::Status start(const std::vector<Root>& roots) override;

  int fd() const override { return fd_; }
  // Each change that passes the filter goes to `sink`, with its process.
  void readReady(const ChangeSink& sink) override;

  // Whether this kernel and these privileges allow the backend at all (no mark is placed).
  [[nodiscard]] static core::Status probe();
  static bool available() { return probe().has_value(); }

  bool reportsRenames() const { return renameEvents_; }  // Renamed, else MovedFrom/MovedTo pairs
  FanotifyStats stats() const;

 private:
  [[nodiscard]] core::Status initGroup();
  [[nodiscard]] core::Status markFilesystemOf(const Root& root);
  void ignoreOwnDirectories();
  std::uint64_t eventMask() const;
  void publish();  // adds what stats() gained since the last call to the exported counters

  std::vector<config::ModuleConfig> modules_;
  FanotifyOptions options_;
  int fd_ = -1;
  bool renameEvents_ = false;
  NameCache names_;
  process::ProcessReader reader_;
  process::ProcessCache processes_;
  DirectoryResolver resolver_;
  std::unique_ptr<RootMatcher> matcher_;
  std::unique_ptr<ChangeTranslator> translator_;
  FanotifyCounters counters_;
  std::vector<char> buffer_;
  struct Exported {
    core::Counter* counter;
    std::uint64_t FanotifyStats::*field;
  };
  std::vector<Exported> exported_;  // empty without a Metrics registry
  FanotifyStats published_;
};

}  // namespace fim::watcher::fanotify
