#pragma once
// Observation: what the watcher saw, handed to the baseline, which diffs it against its records.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "events/file_info.h"
#include "events/metadata.h"

namespace fim::events {

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

}  // namespace fim::events
