#include "core/event.h"

namespace fim::core {

FileStamp stampOf(const FileInfo& f) {
  FileStamp s;
  s.type = f.type;
  s.size = f.size;
  s.inode = f.inode;
  s.device = f.device;
  s.uid = f.uid;
  s.gid = f.gid;
  s.owner = f.owner;
  s.group = f.group;
  s.mode = f.mode;
  s.setuid = f.setuid;
  s.setgid = f.setgid;
  s.mtime = f.mtime;
  s.ctime = f.ctime;
  s.hasMimeType = f.mimeType.has_value();
  for (const auto& [type, hex] : f.hashes) s.hashTypes |= FileStamp::hashBit(type);
  return s;
}

const char* toString(FileType type) {
  switch (type) {
    case FileType::File: return "file";
    case FileType::Dir: return "dir";
    case FileType::Symlink: return "symlink";
    case FileType::CharDevice: return "char_device";
    case FileType::BlockDevice: return "block_device";
    case FileType::Fifo: return "fifo";
    case FileType::Socket: return "socket";
    case FileType::Unknown: return "unknown";
  }
  return "unknown";
}

const char* toString(Action action) {
  switch (action) {
    case Action::Created: return "created";
    case Action::Updated: return "updated";
    case Action::Deleted: return "deleted";
    case Action::AttributesModified: return "attributes_modified";
    case Action::Moved: return "moved";
    case Action::InitialScan: return "initial_scan";
    case Action::ConfigChange: return "config_change";
  }
  return "unknown";
}

const char* eventType(Action action) {
  switch (action) {
    case Action::Created: return "creation";
    case Action::Deleted: return "deletion";
    case Action::InitialScan: return "info";
    case Action::Updated:
    case Action::AttributesModified:
    case Action::Moved:
    case Action::ConfigChange: return "change";
  }
  return "info";
}

}  // namespace fim::core
