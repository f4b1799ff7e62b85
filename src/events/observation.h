#pragma once
// Observation: what the watcher saw, handed to the baseline, which diffs it against its records.
// One small struct per kind, held in a std::variant.

#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "events/elf_info.h"
#include "events/file_info.h"
#include "events/metadata.h"
#include "events/package_verdict.h"

namespace fim::events {

// A path's current state, as a scan or a live change found it (metadata, labels, digests).
struct PathSeen {
  FileInfo info;
  std::optional<std::string> errorMessage;  // e.g. "failed to hash ...": the digests are then absent
  std::optional<ElfInfo> elf;               // file.elf.* found by the module's file_parsers
  std::size_t root = 0;                     // index of the configured root it was found under
  bool childrenUnknown = false;             // a directory that could not be read: its records stay
  bool storedKnown = false;                 // the watcher already read the baseline's record:
  std::optional<FileInfo> stored;           //   this (nullopt: no record), saving the baseline a read
  std::optional<ProcessInfo> process;       // who changed it, when a realtime backend knows
  std::optional<core::TimePoint> detected;  // a live change: when its kernel event was read
  std::optional<PackageVerdict> package;    // an installed package owns it (package_verification)
  bool packageDeferred = false;             // a dpkg or rpm transaction runs: read again once it ends
  // diff.enabled: the content was read now and its module keeps contents. `text` is what to keep
  // (redacted); none (binary, too large, excluded) drops what was kept.
  bool contentChecked = false;
  std::optional<std::string> text;
};

// Paths a scan saw exactly as the baseline records them (by core::pathKey): nothing to write.
struct PathsUnchanged {
  std::vector<std::uint64_t> keys;
};

// A full scan begins: only what is observed from now on counts as seen by its sweep. The
// baseline sets `written` once every observation before this one is written: the scan reads the
// records only then, or it would read records that the previous scan's observations have yet to
// write and report those paths again.
struct ScanStarted {
  std::shared_ptr<std::promise<void>> written = std::make_shared<std::promise<void>>();
};

// Every path of a full scan has been observed: sweep for deletions. Per root, true when the scan
// matched every record below it to a path it saw (or to a directory it could not read): the
// sweep has nothing to look for there.
struct ScanDone {
  std::vector<bool> rootsMatched;
};

// A path (and everything under it) is gone: its records are removed and each reported deleted.
struct PathDeleted {
  std::string path;
  std::size_t root = 0;
  std::optional<ProcessInfo> process;
  std::optional<core::TimePoint> detected;  // when its kernel event was read
};

// A path was renamed: its record (and every record under it) moves with it, not rehashed. `now`
// is its state at the new path; its type is Unknown when it was gone again before it was read.
struct PathMoved {
  PathSeen now;
  std::string from;
};

// Every path under `path` has been observed (an unwatched subtree was rescanned): sweep it only.
struct SubtreeDone {
  std::string path;
  std::size_t root = 0;
};

using Observation = std::variant<PathSeen, PathsUnchanged, ScanStarted, ScanDone, PathDeleted, PathMoved, SubtreeDone>;

}  // namespace fim::events
