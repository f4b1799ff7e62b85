#pragma once
// MetadataReader: fstatat and the extras (names, symlink target, SELinux label, POSIX ACL) → FileInfo,
// each relative to the directory that holds the path.

#include <sys/stat.h>

#include <string>

#include "events/file_event.h"
#include "core/result.h"
#include "watcher/name_cache.h"
#include "watcher/open_beneath.h"

namespace fim::watcher {

// What lstat shows as `st`, owned by `owner`:`group`, as a stamp to classify against a record.
// No MIME type or digests: those come from reading the content.
events::FileStamp stampOfStat(const struct stat& st, std::string_view owner, std::string_view group);

class MetadataReader {
 public:
  explicit MetadataReader(NameCache& names) : names_(names) {}

  // Never follows a final symlink. Fills everything but hashes and mimeType. Only a failed fstatat
  // fails the read (NotFound when the path vanished); names, target, label and ACL are best effort.
  [[nodiscard]] core::Result<events::FileInfo> read(const PathAt& at) const;  // readStat + readLabels
  // Everything fstatat, the name cache and (for symlinks) readlinkat give.
  [[nodiscard]] core::Result<events::FileInfo> readStat(const PathAt& at) const;
  // The same from a stat the caller already has (the walker's fstatat, an open file's fstat).
  events::FileInfo fromStat(const PathAt& at, const struct stat& st) const;
  // The SELinux label and POSIX ACL, from extended attributes: of the open file `fd` when it
  // is one, else of `at` itself (through an O_PATH descriptor: a symlink's own, never its target's).
  void readLabels(events::FileInfo& info, const PathAt& at, int fd = -1) const;

 private:
  NameCache& names_;
};

}  // namespace fim::watcher
