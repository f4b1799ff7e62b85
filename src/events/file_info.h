#pragma once
// FileInfo: what fimbeat knows of one path (metadata, labels, digests), and FileStamp, the part of
// it that says whether a recorded state still holds.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "events/hash_type.h"

namespace fim::events {

enum class FileType { File, Dir, Symlink, CharDevice, BlockDevice, Fifo, Socket, Unknown };

// ECS file.type values.
const char* toString(FileType type);

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
  core::TimePoint mtime;
  core::TimePoint ctime;
  std::optional<std::string> targetPath;  // symlinks: the resolved target
  std::optional<std::string> mimeType;    // regular files, when enabled
  std::optional<std::string> selinux;     // security.selinux label, where present
  std::optional<std::string> acl;         // POSIX access ACL text, where extended entries exist
  std::map<HashType, std::string> hashes;  // lowercase hex digests of the content
  // The digests describe an earlier content: the file changed since and could not be read. They
  // are kept to tell whether the content differs once it can be read, never shown as its digests.
  bool hashesStale = false;
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
  core::TimePoint mtime;
  core::TimePoint ctime;
  bool hasMimeType = false;
  std::uint32_t hashTypes = 0;  // hashBit(type) set for each digest recorded
  bool hashesStale = false;     // FileInfo::hashesStale: the digests cannot be reused

  static constexpr std::uint32_t hashBit(HashType type) {
    const auto n = static_cast<unsigned>(type);
    return n < 32 ? 1u << n : 0;  // a corrupt type records nothing
  }
};

FileStamp stampOf(const FileInfo& info);

}  // namespace fim::events
