#pragma once
// The value types that flow down the pipeline: FileEvent (watcher) → EnrichedEvent (enricher).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/hash_type.h"
#include "core/metadata.h"

namespace fim::core {

enum class FileType { File, Dir, Symlink, CharDevice, BlockDevice, Fifo, Socket, Unknown };

// ECS file.type values.
const char* toString(FileType type);

enum class Action { Created, Updated, Deleted, AttributesModified, Moved, InitialScan, ConfigChange };

const char* toString(Action action);   // event.action: "created", "initial_scan", ...
const char* eventType(Action action);  // event.type: "creation", "change", "deletion", "info"

struct FileInfo {
  std::string path;  // raw bytes as the kernel gave them; not necessarily UTF-8
  FileType type = FileType::Unknown;
  std::optional<std::uint64_t> size;  // regular files only
  std::uint64_t inode = 0;
  std::uint64_t device = 0;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::string owner;  // user name, or "" when the uid has no name
  std::string group;
  std::uint32_t mode = 0;  // permission bits only (07777 & st_mode)
  bool setuid = false;
  bool setgid = false;
  TimePoint mtime;
  TimePoint ctime;
  std::optional<std::string> targetPath;  // symlinks: the resolved target
  std::optional<std::string> mimeType;    // regular files, when enabled
  std::optional<std::string> selinux;     // security.selinux label, where present
  std::optional<std::string> acl;         // POSIX access ACL text, where extended entries exist
  std::map<HashType, std::string> hashes;  // lowercase hex digests of the content
};

// What says whether a path's recorded state still holds: FileInfo without the path, the
// labels and the digests. A view: owner and group point into what it was read from (an
// encoded record, or the FileInfo of stampOf), which must outlive it.
struct FileStamp {
  FileType type = FileType::Unknown;
  std::optional<std::uint64_t> size;
  std::uint64_t inode = 0;
  std::uint64_t device = 0;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::string_view owner;
  std::string_view group;
  std::uint32_t mode = 0;
  bool setuid = false;
  bool setgid = false;
  TimePoint mtime;
  TimePoint ctime;
  bool hasMimeType = false;
  std::uint32_t hashTypes = 0;  // hashBit(type) set for each digest recorded

  static constexpr std::uint32_t hashBit(HashType type) {
    const auto n = static_cast<unsigned>(type);
    return n < 32 ? 1u << n : 0;  // a corrupt type records nothing
  }
};

FileStamp stampOf(const FileInfo& info);

// What the watcher saw of one path: metadata and hashes, before any comparison.
struct Observation {
  enum class Kind {
    Path,      // info holds the path's current state
    Unchanged,  // unchangedKeys only: paths the watcher saw exactly as the baseline records them
    ScanDone,   // every path of a full scan has been observed: sweep for deletions
    Deleted,    // info.path (and everything under it) is gone: remove the records, report each
    Moved,      // info holds the state at its new path, previousPath where it was: records move with it
    SubtreeDone,  // every path under info.path has been observed: sweep that subtree only
    ScanStarted,  // a full scan begins: only what is observed from now on counts as seen by its sweep
  };
  Kind kind = Kind::Path;
  FileInfo info;
  std::optional<std::string> errorMessage;  // e.g. "failed to hash ...": hashes are then absent
  std::size_t root = 0;                     // index of the configured root it was found under
  bool childrenUnknown = false;             // a directory that could not be read: its records stay
  bool storedKnown = false;                 // the watcher already read the baseline's record:
  std::optional<FileInfo> stored;           //   this (nullopt: no record), saving the baseline a read
  std::optional<std::string> previousPath;  // Moved: the path it was renamed from
  std::optional<ProcessInfo> process;       // who changed it, when a realtime backend knows
  std::vector<std::uint64_t> unchangedKeys;  // Unchanged: core::pathKey() of each such path
  // ScanDone: per root, true when the scan matched every record below it to a path it saw (or
  // to a directory it could not read): the sweep has nothing to look for there.
  std::vector<bool> rootsMatched;
};

struct FileEvent {
  TimePoint timestamp;
  std::vector<Action> actions;
  FileInfo file;
  std::optional<std::string> errorMessage;
  std::size_t module = 0;  // index of the configured module that reported it
  std::vector<std::string> changedAttributes;  // "hash.sha256", "mode", ...
  std::optional<FileInfo> previous;            // the baseline's view before this change
  std::optional<std::string> previousPath;     // moved: where the file was before
  std::optional<ProcessInfo> process;          // who changed it, when the backend knows
  std::uint64_t sequence = 0;                  // position in the durable queue (0: not queued)
};

struct EnrichedEvent {
  FileEvent event;
  std::shared_ptr<const Metadata> metadata;  // agent, host, cloud: shared by many events
  std::vector<std::string> tags;
};

// One finished document on its way to an output.
struct EncodedEvent {
  std::uint64_t sequence = 0;  // the queue position to acknowledge once delivered
  std::string id;              // deterministic _id: a redelivery is recognised as a duplicate
  std::string json;            // the ECS document, no trailing newline
};

}  // namespace fim::core
