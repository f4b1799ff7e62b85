#pragma once
// The records of one fanotify event read from a group initialised with FAN_REPORT_DFID_NAME
// (and optionally FAN_REPORT_FID / FAN_REPORT_TARGET_FID), as views into the read buffer.

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace fim::watcher::fanotify {

// A file identifier: the filesystem id and the file handle that open_by_handle_at accepts.
struct FileId {
  std::uint64_t fsid = 0;        // __kernel_fsid_t's two words, as statfs(2) reports f_fsid
  std::string_view handle;       // a whole struct file_handle (header and bytes), unaligned
  std::string_view name;         // the entry's name for *_DFID_NAME records, "." for the dir itself
  // fsid + handle: a key for caches, equal for equal objects.
  std::string key() const;
};

struct Event {
  std::uint64_t mask = 0;
  std::int32_t pid = 0;
  std::int32_t fd = -1;            // FAN_NOFD in FID mode; closed by whoever reads events
  std::optional<FileId> dir;      // FAN_EVENT_INFO_TYPE_DFID_NAME or _DFID
  std::optional<FileId> object;   // FAN_EVENT_INFO_TYPE_FID: the object itself (when reported)
  std::optional<FileId> oldDir;   // FAN_RENAME: where it was
  std::optional<FileId> newDir;   // FAN_RENAME: where it is now
};

// Calls `each` for every well-formed event in `buffer` (one read(2) of a fanotify fd). Returns
// how many malformed events (wrong metadata version, truncated records) were skipped.
std::size_t parseEvents(std::span<const char> buffer, const std::function<void(const Event&)>& each);

// The fsid of a statfs(2) result, in FileId::fsid's form.
std::uint64_t fsidOf(const void* kernelFsid);

}  // namespace fim::watcher::fanotify
