#include "watcher/fanotify/change_translator.h"

#include <sys/fanotify.h>
#include <sys/stat.h>

#include "watcher/directory_tree.h"
#include "watcher/open_beneath.h"

namespace fim::watcher::fanotify {
namespace {

// Without FAN_RENAME a rename is a MOVED_FROM and a MOVED_TO queued back to back by one thread;
// events of other CPUs may slip in between, so the pair is looked for a little further.
constexpr int kMaxInterleaved = 32;

std::string join(const std::string& dir, std::string_view name) {
  std::string path;
  path.reserve(dir.size() + 1 + name.size());
  path += dir;
  if (dir != "/") path += '/';
  path += name;
  return path;
}

}  // namespace

ChangeTranslator::ChangeTranslator(DirectoryResolver& resolver, const RootMatcher& matcher,
                                   process::ProcessCache& processes, FanotifyCounters& counters, pid_t ownPid)
    : resolver_(resolver), matcher_(matcher), processes_(processes), counters_(counters), ownPid_(ownPid) {}

void ChangeTranslator::beginBatch(std::chrono::steady_clock::time_point now) {
  now_ = now;
  batchProcesses_.clear();
}

std::optional<std::string> ChangeTranslator::pathOf(const std::optional<FileId>& dir) {
  if (!dir) return std::nullopt;
  auto path = resolver_.directory(*dir);
  if (!path) {
    counters_.unresolved.fetch_add(1, std::memory_order_relaxed);
    // A directory deleted first has nothing left to report; any other failure hides a change.
    if (path.error().code() != core::ErrorCode::NotFound && !blind_) blind_ = path.error().message();
    return std::nullopt;
  }
  if (dir->name.empty() || dir->name == ".") return std::move(*path);  // an event on the directory itself
  return join(*path, dir->name);
}

bool ChangeTranslator::reportable(const std::optional<std::string>& path, bool isDirectory) const {
  return path && matcher_.match(*path, isDirectory).has_value();
}

const events::ProcessInfo& ChangeTranslator::process(std::int32_t pid) {
  if (auto it = batchProcesses_.find(pid); it != batchProcesses_.end()) return it->second;
  return batchProcesses_.emplace(pid, processes_.lookup(pid, now_)).first->second;
}

void ChangeTranslator::emit(RawChange change, std::int32_t pid, const ChangeSink& sink) {
  // pid 0: the process lives in a pid namespace fimbeat cannot see into.
  if (change.kind != RawChange::Kind::Overflow && pid > 0) change.process = process(pid);
  counters_.reported.fetch_add(1, std::memory_order_relaxed);
  sink(std::move(change));
}

void ChangeTranslator::emitContents(const std::string& dir, std::int32_t pid, const ChangeSink& sink) {
  const auto root = matcher_.match(dir, true);
  if (!root) return;
  auto opened = openDirectoryUnder(matcher_.roots()[*root].path, dir);
  if (!opened) return;  // gone again, or swapped for a symlink
  std::vector<char> buffer(32 * 1024);
  walkTree(
      std::move(*opened), dir, buffer, [](int, const std::string&) { return true; },
      [&](const std::string& path, bool isDirectory) {
        if (!reportable(path, isDirectory)) return false;  // an excluded directory: nothing below is reported
        emit(RawChange{.kind = RawChange::Kind::Created, .path = path, .isDirectory = isDirectory}, pid, sink);
        return true;
      });
}

void ChangeTranslator::emitMove(RawChange::Kind kind, std::string path, bool isDirectory, std::uint64_t inode,
                                std::int32_t pid, const ChangeSink& sink) {
  RawChange change;
  change.kind = kind;
  change.path = std::move(path);
  change.isDirectory = isDirectory;
  change.inode = inode;
  emit(std::move(change), pid, sink);
}

void ChangeTranslator::translate(const Event& event, const ChangeSink& sink) {
  translateEvent(event, sink);
  if (!blind_) return;
  // The change cannot be named: the realtime watcher rescans so that it is still reported.
  counters_.blind.fetch_add(1, std::memory_order_relaxed);
  sink(RawChange{.kind = RawChange::Kind::Unresolved, .detail = std::move(*blind_)});
  blind_.reset();
}

void ChangeTranslator::translateEvent(const Event& event, const ChangeSink& sink) {
  counters_.events.fetch_add(1, std::memory_order_relaxed);
  if (event.mask & FAN_Q_OVERFLOW) {
    counters_.overflows.fetch_add(1, std::memory_order_relaxed);
    resolver_.clear();  // directory renames may be among the lost events
    pendingMove_.reset();
    emit(RawChange{.kind = RawChange::Kind::Overflow}, 0, sink);
    return;
  }
  if (pendingMove_ && !((event.mask & FAN_MOVED_TO) && event.pid == pendingMove_->pid)) {
    if (event.pid == pendingMove_->pid || ++pendingMove_->eventsSince > kMaxInterleaved) flush(sink);
  }
  if (event.mask & FAN_RENAME) return translateRename(event, sink);  // never merged with other events

  const bool isDirectory = (event.mask & FAN_ONDIR) != 0;
  const bool leaves = isDirectory && (event.mask & (FAN_DELETE | FAN_MOVED_FROM));
  if (event.pid == ownPid_ && !leaves) {  // nothing to learn from it: skip the lookup too
    counters_.ownIgnored.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  std::optional<std::string> path = pathOf(event.dir);
  if (leaves && path) resolver_.forget(*path);
  if (event.pid == ownPid_) {
    counters_.ownIgnored.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if ((event.mask & ~FAN_ONDIR) == FAN_MOVED_FROM) {  // waits for its MOVED_TO (no FAN_RENAME)
    flush(sink);
    pendingMove_ = PendingMove{event.pid, std::move(path), isDirectory, 0};
    return;
  }
  std::optional<std::string> movedFrom;
  if ((event.mask & FAN_MOVED_TO) && pendingMove_ && pendingMove_->pid == event.pid) {
    movedFrom = std::move(pendingMove_->path);
    pendingMove_.reset();
  }
  const bool fromRoot = reportable(movedFrom, isDirectory);
  const bool here = reportable(path, isDirectory);
  if (!fromRoot && !here) return;
  // Both ends of a move carry the moved object's inode, so the realtime watcher can pair them.
  const std::uint64_t inode = (event.mask & FAN_MOVED_TO) && path ? resolver_.entryInode(*event.dir).value_or(0) : 0;
  if (fromRoot) emitMove(RawChange::Kind::MovedFrom, std::move(*movedFrom), isDirectory, inode, event.pid, sink);
  if (here) emitParts(event, *path, inode, sink);
  if (here && !fromRoot && isDirectory && (event.mask & FAN_MOVED_TO)) emitContents(*path, event.pid, sink);
}

void ChangeTranslator::emitParts(const Event& event, const std::string& path, std::uint64_t inode,
                                 const ChangeSink& sink) {
  // The kernel merges events on one name by one process, losing their order. The path's state
  // now decides it: if the path exists, whatever removed it came before whatever made it.
  static constexpr std::pair<std::uint64_t, RawChange::Kind> kArrivals[] = {
      {FAN_CREATE, RawChange::Kind::Created},    {FAN_MOVED_TO, RawChange::Kind::MovedTo},
      {FAN_MODIFY, RawChange::Kind::Modified},   {FAN_ATTRIB, RawChange::Kind::Attributes},
      {FAN_CLOSE_WRITE, RawChange::Kind::Closed},
  };
  static constexpr std::pair<std::uint64_t, RawChange::Kind> kRemovals[] = {
      {FAN_MOVED_FROM, RawChange::Kind::MovedFrom},
      {FAN_DELETE, RawChange::Kind::Deleted},
  };
  const bool isDirectory = (event.mask & FAN_ONDIR) != 0;
  const auto emitAll = [&](const auto& kinds) {
    for (const auto& [bit, kind] : kinds) {
      if (!(event.mask & bit)) continue;
      const bool moved = kind == RawChange::Kind::MovedTo;
      emit(RawChange{.kind = kind, .path = path, .isDirectory = isDirectory, .inode = moved ? inode : 0}, event.pid,
           sink);
    }
  };
  const bool removed = (event.mask & (FAN_MOVED_FROM | FAN_DELETE)) != 0;
  const bool arrived = (event.mask & (FAN_CREATE | FAN_MOVED_TO | FAN_MODIFY | FAN_ATTRIB | FAN_CLOSE_WRITE)) != 0;
  if (removed && arrived && event.dir && resolver_.entryInode(*event.dir)) {  // it exists now
    emitAll(kRemovals);
    emitAll(kArrivals);
  } else {
    emitAll(kArrivals);
    emitAll(kRemovals);
  }
}

void ChangeTranslator::translateRename(const Event& event, const ChangeSink& sink) {
  const bool isDirectory = (event.mask & FAN_ONDIR) != 0;
  std::optional<std::string> oldPath = pathOf(event.oldDir);
  std::optional<std::string> newPath = pathOf(event.newDir);
  if (isDirectory && oldPath) resolver_.forget(*oldPath);
  if (event.pid == ownPid_) {
    counters_.ownIgnored.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const bool fromRoot = reportable(oldPath, isDirectory);
  const bool toRoot = reportable(newPath, isDirectory);
  if (!fromRoot && !toRoot) return;
  const std::uint64_t inode = event.object ? resolver_.inode(*event.object).value_or(0) : 0;
  if (fromRoot && toRoot) {
    emit(RawChange{.kind = RawChange::Kind::Renamed, .path = std::move(*newPath), .oldPath = std::move(*oldPath),
                   .isDirectory = isDirectory, .inode = inode},
         event.pid, sink);
  } else if (fromRoot) {  // moved out of what fimbeat watches
    emitMove(RawChange::Kind::MovedFrom, std::move(*oldPath), isDirectory, inode, event.pid, sink);
  } else {  // moved in
    const std::string path = *newPath;
    emitMove(RawChange::Kind::MovedTo, std::move(*newPath), isDirectory, inode, event.pid, sink);
    if (isDirectory) emitContents(path, event.pid, sink);
  }
}

void ChangeTranslator::flush(const ChangeSink& sink) {
  if (!pendingMove_) return;
  PendingMove pending = std::move(*pendingMove_);
  pendingMove_.reset();
  if (reportable(pending.path, pending.isDirectory)) {
    emitMove(RawChange::Kind::MovedFrom, std::move(*pending.path), pending.isDirectory, 0, pending.pid, sink);
  }
}

}  // namespace fim::watcher::fanotify
