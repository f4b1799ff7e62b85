#include "watcher/fanotify/fanotify_event.h"

#include <fcntl.h>
#include <sys/fanotify.h>

#include <cstring>

namespace fim::watcher::fanotify {
namespace {

// Records are only 4-byte aligned, so every field is copied out rather than cast in place.
template <typename T>
T load(const char* at) {
  T value;
  std::memcpy(&value, at, sizeof(T));
  return value;
}

// One fid record: header, fsid, struct file_handle, and for *_NAME records a NUL-terminated name.
std::optional<FileId> parseFid(std::string_view record, bool named) {
  constexpr std::size_t kHandleAt = sizeof(fanotify_event_info_header) + sizeof(__kernel_fsid_t);
  constexpr std::size_t kHandleHeader = sizeof(file_handle);  // handle_bytes + handle_type
  if (record.size() < kHandleAt + kHandleHeader) return std::nullopt;
  const auto handleBytes = load<std::uint32_t>(record.data() + kHandleAt);
  const std::size_t handleEnd = kHandleAt + kHandleHeader + handleBytes;
  if (handleEnd > record.size()) return std::nullopt;
  FileId id;
  id.fsid = fsidOf(record.data() + sizeof(fanotify_event_info_header));
  id.handle = record.substr(kHandleAt, handleEnd - kHandleAt);
  if (named) {
    const std::string_view rest = record.substr(handleEnd);
    const std::size_t nul = rest.find('\0');
    if (nul == std::string_view::npos) return std::nullopt;
    id.name = rest.substr(0, nul);
  }
  return id;
}

bool parseRecords(std::string_view records, Event& event) {
  while (!records.empty()) {
    if (records.size() < sizeof(fanotify_event_info_header)) return false;
    const auto header = load<fanotify_event_info_header>(records.data());
    if (header.len < sizeof(header) || header.len > records.size()) return false;
    const std::string_view record = records.substr(0, header.len);
    std::optional<FileId>* slot = nullptr;
    bool named = false;
    switch (header.info_type) {
      case FAN_EVENT_INFO_TYPE_DFID_NAME: slot = &event.dir; named = true; break;
      case FAN_EVENT_INFO_TYPE_DFID: slot = &event.dir; break;
      case FAN_EVENT_INFO_TYPE_FID: slot = &event.object; break;
      case FAN_EVENT_INFO_TYPE_OLD_DFID_NAME: slot = &event.oldDir; named = true; break;
      case FAN_EVENT_INFO_TYPE_NEW_DFID_NAME: slot = &event.newDir; named = true; break;
      default: break;  // pidfd, error and future record types are not used
    }
    if (slot) {
      *slot = parseFid(record, named);
      if (!*slot) return false;
    }
    records.remove_prefix(header.len);
  }
  return true;
}

}  // namespace

std::string FileId::key() const {
  std::string key(sizeof(fsid) + handle.size(), '\0');
  std::memcpy(key.data(), &fsid, sizeof(fsid));
  std::memcpy(key.data() + sizeof(fsid), handle.data(), handle.size());
  return key;
}

std::uint64_t fsidOf(const void* kernelFsid) {
  std::int32_t words[2];
  std::memcpy(words, kernelFsid, sizeof(words));
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(words[0])) << 32) | static_cast<std::uint32_t>(words[1]);
}

std::size_t parseEvents(std::span<const char> buffer, const std::function<void(const Event&)>& each) {
  std::size_t malformed = 0;
  std::string_view rest(buffer.data(), buffer.size());
  while (rest.size() >= sizeof(fanotify_event_metadata)) {
    const auto meta = load<fanotify_event_metadata>(rest.data());
    if (meta.event_len < sizeof(meta) || meta.event_len > rest.size()) {
      ++malformed;  // cannot find the next event either
      break;
    }
    const std::string_view whole = rest.substr(0, meta.event_len);
    rest.remove_prefix(meta.event_len);
    if (meta.vers != FANOTIFY_METADATA_VERSION || meta.metadata_len < sizeof(meta) ||
        meta.metadata_len > meta.event_len) {
      ++malformed;
      continue;
    }
    Event event;
    event.mask = meta.mask;
    event.pid = meta.pid;
    event.fd = meta.fd;
    if (!parseRecords(whole.substr(meta.metadata_len), event)) {
      ++malformed;
      continue;
    }
    each(event);
  }
  return malformed;
}

}  // namespace fim::watcher::fanotify
