#include "events/file_info.h"

namespace fim::events {

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
  s.hashesStale = f.hashesStale;
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

}  // namespace fim::events
