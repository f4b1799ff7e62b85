#include "events/file_info_codec.h"

namespace fim::events {
namespace {

// The fields FileInfo and FileStamp share, in the order writeFileInfo writes them; names are
// copied into a FileInfo and viewed in place by a FileStamp.
template <typename Fields>
void readCommonFields(core::BinaryReader& r, Fields& f) {
  f.type = static_cast<FileType>(r.u8());
  const bool hasSize = r.u8() != 0;
  const std::uint64_t size = r.u64();
  f.size = hasSize ? std::optional<std::uint64_t>(size) : std::nullopt;
  f.inode = r.u64();
  f.device = r.u64();
  f.uid = r.u32();
  f.gid = r.u32();
  f.owner = r.strView();
  f.group = r.strView();
  f.mode = r.u32();
  const std::uint8_t flags = r.u8();
  f.setuid = flags & 1;
  f.setgid = flags & 2;
  f.mtime = r.time();
  f.ctime = r.time();
}

}  // namespace

void writeFileInfo(core::BinaryWriter& w, const FileInfo& f) {
  w.u8(static_cast<std::uint8_t>(f.type));
  w.u8(f.size ? 1 : 0);
  w.u64(f.size.value_or(0));
  w.u64(f.inode);
  w.u64(f.device);
  w.u32(f.uid);
  w.u32(f.gid);
  w.str(f.owner);
  w.str(f.group);
  w.u32(f.mode);
  w.u8(static_cast<std::uint8_t>((f.setuid ? 1 : 0) | (f.setgid ? 2 : 0)));
  w.time(f.mtime);
  w.time(f.ctime);
  w.optStr(f.targetPath);
  w.optStr(f.mimeType);
  w.optStr(f.selinux);
  w.optStr(f.acl);
  w.u8(static_cast<std::uint8_t>(f.hashes.size()));
  for (const auto& [type, hex] : f.hashes) {
    w.u8(static_cast<std::uint8_t>(type));
    w.str(hex);
  }
}

void readFileInfo(core::BinaryReader& r, FileInfo& f) {
  readCommonFields(r, f);
  f.targetPath = r.optStr();
  f.mimeType = r.optStr();
  f.selinux = r.optStr();
  f.acl = r.optStr();
  const std::uint8_t hashes = r.u8();
  for (std::uint8_t i = 0; i < hashes && r.ok(); ++i) {
    const auto type = static_cast<HashType>(r.u8());
    f.hashes[type] = r.str();
  }
}

void readFileStamp(core::BinaryReader& r, FileStamp& s) {
  readCommonFields(r, s);
  (void)r.skipOptStr();  // target path
  s.hasMimeType = r.skipOptStr();
  (void)r.skipOptStr();  // SELinux label
  (void)r.skipOptStr();  // ACL
  const std::uint8_t hashes = r.u8();
  s.hashTypes = 0;
  for (std::uint8_t i = 0; i < hashes && r.ok(); ++i) {
    const auto type = static_cast<HashType>(r.u8());
    (void)r.strView();
    s.hashTypes |= FileStamp::hashBit(type);
  }
}

}  // namespace fim::events
