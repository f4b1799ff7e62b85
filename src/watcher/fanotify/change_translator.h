#pragma once
// ChangeTranslator: fanotify events → RawChanges. Resolves directory handles to paths, keeps the
// path cache honest across directory renames and deletes, filters to the configured roots,
// drops fimbeat's own changes and attaches the process that made each change.

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "events/metadata.h"
#include "watcher/fanotify/directory_resolver.h"
#include "watcher/fanotify/fanotify_event.h"
#include "watcher/fanotify/root_matcher.h"
#include "watcher/process/process_cache.h"
#include "watcher/realtime/change_backend.h"

namespace fim::watcher::fanotify {

// Counters of the backend's work; read from any thread.
struct FanotifyCounters {
  std::atomic<std::uint64_t> events{0};      // kernel events read
  std::atomic<std::uint64_t> reported{0};    // RawChanges handed to the sink
  std::atomic<std::uint64_t> ownIgnored{0};  // events caused by fimbeat itself
  std::atomic<std::uint64_t> unresolved{0};  // directory handle not resolved to a path
  std::atomic<std::uint64_t> blind{0};       // ... for another reason than its deletion: rescanned
  std::atomic<std::uint64_t> malformed{0};
  std::atomic<std::uint64_t> overflows{0};
  std::atomic<std::uint64_t> readErrors{0};  // read(2) on the group failed (other than EAGAIN)
};

class ChangeTranslator {
 public:
  ChangeTranslator(DirectoryResolver& resolver, const RootMatcher& matcher, process::ProcessCache& processes,
                   FanotifyCounters& counters, pid_t ownPid);

  // Call before the events of one read(2): processes are looked up at most once per pid in it.
  void beginBatch(std::chrono::steady_clock::time_point now);
  // An event whose directory cannot be named for another reason than its deletion is reported as
  // Unresolved (with why), so that a rescan finds the change.
  void translate(const Event& event, const ChangeSink& sink);
  // No more events are queued right now: a MOVED_FROM still waiting for its MOVED_TO is reported
  // on its own (its partner was outside the marked filesystems or will never come).
  void flush(const ChangeSink& sink);
  bool waitingForMove() const { return pendingMove_.has_value(); }

 private:
  struct PendingMove {
    std::int32_t pid = 0;
    std::optional<std::string> path;  // nullopt: the directory was already gone
    bool isDirectory = false;
    int eventsSince = 0;
  };

  void translateEvent(const Event& event, const ChangeSink& sink);
  std::optional<std::string> pathOf(const std::optional<FileId>& dir);
  bool reportable(const std::optional<std::string>& path, bool isDirectory) const;
  void translateRename(const Event& event, const ChangeSink& sink);
  void emitParts(const Event& event, const std::string& path, std::uint64_t inode, const ChangeSink& sink);
  void emitMove(RawChange::Kind kind, std::string path, bool isDirectory, std::uint64_t inode, std::int32_t pid,
                const ChangeSink& sink);
  void emit(RawChange change, std::int32_t pid, const ChangeSink& sink);
  // A directory moved in from outside the roots: one mark sees its contents, but no event says
  // they arrived, so each reportable entry below it is reported as Created (as inotify does).
  void emitContents(const std::string& dir, std::int32_t pid, const ChangeSink& sink);
  const events::ProcessInfo& process(std::int32_t pid);

  DirectoryResolver& resolver_;
  const RootMatcher& matcher_;
  process::ProcessCache& processes_;
  FanotifyCounters& counters_;
  pid_t ownPid_;
  std::chrono::steady_clock::time_point now_;
  std::unordered_map<std::int32_t, events::ProcessInfo> batchProcesses_;
  std::optional<PendingMove> pendingMove_;
  std::optional<std::string> blind_;  // why the current event's directory could not be named
};

}  // namespace fim::watcher::fanotify
