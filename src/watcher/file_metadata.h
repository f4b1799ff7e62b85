#pragma once

#include <sys/stat.h>
// MetadataReader: lstat and the extras (names, symlink target, SELinux label, POSIX ACL) → FileInfo.

#include <string>

#include "events/file_event.h"
#include "core/result.h"
#include "watcher/name_cache.h"

namespace fim::watcher {

// What lstat shows as `st`, owned by `owner`:`group`, as a stamp to classify against a record.
// No MIME type or digests: those come from reading the content.
events::FileStamp stampOfStat(const struct stat& st, std::string_view owner, std::string_view group);

class MetadataReader {
 public:
  explicit MetadataReader(NameCache& names) : names_(names) {}

  // Never follows a final symlink. Fills everything but hashes and mimeType. Only a failed lstat
  // fails the read (NotFound when the path vanished); names, target, label and ACL are best effort.
  [[nodiscard]] core::Result<events::FileInfo> read(const std::string& path) const;  // readStat + readLabels
  // Everything lstat, the name cache and (for symlinks) readlink give.
  [[nodiscard]] core::Result<events::FileInfo> readStat(const std::string& path) const;
  // The same from a stat the caller already has (the walker's fstatat).
  events::FileInfo fromStat(const std::string& path, const struct stat& st) const;
  // The SELinux label and POSIX ACL, from extended attributes: of the open file `fd` when it
  // is one (no path lookup), else of info.path itself.
  void readLabels(events::FileInfo& info, int fd = -1) const;

 private:
  NameCache& names_;
};

}  // namespace fim::watcher
