#include "core/event_codec.h"

namespace fim::core {
namespace {

void writeProcess(BinaryWriter& w, const ProcessInfo& p) {
  w.i64(p.pid);
  w.u8(p.exited ? 1 : 0);
  w.str(p.name);
  w.str(p.executable);
  w.u32(static_cast<std::uint32_t>(p.args.size()));
  for (const auto& a : p.args) w.str(a);
  w.u8(p.parentPid ? 1 : 0);
  w.i64(p.parentPid.value_or(0));
  w.str(p.workingDirectory);
  w.u8(p.userId ? 1 : 0);
  w.u32(p.userId.value_or(0));
  w.str(p.userName);
  w.u8(p.groupId ? 1 : 0);
  w.u32(p.groupId.value_or(0));
  w.str(p.groupName);
  w.str(p.containerId);
  w.str(p.containerRuntime);
}

void readProcess(BinaryReader& r, ProcessInfo& p) {
  p.pid = r.i64();
  p.exited = r.u8() != 0;
  p.name = r.str();
  p.executable = r.str();
  const std::uint32_t args = r.u32();
  for (std::uint32_t i = 0; i < args && r.ok(); ++i) p.args.push_back(r.str());
  const bool hasParent = r.u8() != 0;
  const std::int64_t parent = r.i64();
  if (hasParent) p.parentPid = parent;
  p.workingDirectory = r.str();
  const bool hasUser = r.u8() != 0;
  const std::uint32_t uid = r.u32();
  if (hasUser) p.userId = uid;
  p.userName = r.str();
  const bool hasGroup = r.u8() != 0;
  const std::uint32_t gid = r.u32();
  if (hasGroup) p.groupId = gid;
  p.groupName = r.str();
  p.containerId = r.str();
  p.containerRuntime = r.str();
}

// The fields FileInfo and FileStamp share, in the order writeFileInfo writes them; names are
// copied into a FileInfo and viewed in place by a FileStamp.
template <typename Fields>
void readCommonFields(BinaryReader& r, Fields& f) {
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

void writeFileInfo(BinaryWriter& w, const FileInfo& f) {
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

void readFileInfo(BinaryReader& r, FileInfo& f) {
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

void readFileStamp(BinaryReader& r, FileStamp& s) {
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

std::string encodeEvent(const FileEvent& e) {
  BinaryWriter w;
  w.u8(kEventVersion);
  w.time(e.timestamp);
  w.u8(static_cast<std::uint8_t>(e.actions.size()));
  for (auto a : e.actions) w.u8(static_cast<std::uint8_t>(a));
  w.str(e.file.path);
  writeFileInfo(w, e.file);
  w.optStr(e.errorMessage);
  w.u64(e.module);
  w.u32(static_cast<std::uint32_t>(e.changedAttributes.size()));
  for (const auto& a : e.changedAttributes) w.str(a);
  w.u8(e.previous ? 1 : 0);
  if (e.previous) {
    w.str(e.previous->path);
    writeFileInfo(w, *e.previous);
  }
  w.optStr(e.previousPath);
  w.u8(e.process ? 1 : 0);
  if (e.process) writeProcess(w, *e.process);
  return w.take();
}

Result<FileEvent> decodeEvent(std::uint64_t sequence, std::string_view bytes) {
  BinaryReader r(bytes);
  const std::uint8_t version = r.u8();
  if (r.ok() && version != kEventVersion) {
    return failf(ErrorCode::Parse, "queued event {} has version {}, this fimbeat reads version {}", sequence, version,
                 kEventVersion);
  }
  FileEvent e;
  e.sequence = sequence;
  e.timestamp = r.time();
  const std::uint8_t actions = r.u8();
  for (std::uint8_t i = 0; i < actions && r.ok(); ++i) e.actions.push_back(static_cast<Action>(r.u8()));
  e.file.path = r.str();
  readFileInfo(r, e.file);
  e.errorMessage = r.optStr();
  e.module = r.u64();
  const std::uint32_t changed = r.u32();
  for (std::uint32_t i = 0; i < changed && r.ok(); ++i) e.changedAttributes.push_back(r.str());
  if (r.u8() != 0) {
    FileInfo previous;
    previous.path = r.str();
    readFileInfo(r, previous);
    e.previous = std::move(previous);
  }
  e.previousPath = r.optStr();
  if (r.u8() != 0) {
    ProcessInfo process;
    readProcess(r, process);
    e.process = std::move(process);
  }
  if (!r.ok() || !r.atEnd()) return failf(ErrorCode::Parse, "queued event {} is truncated or malformed", sequence);
  return e;
}

}  // namespace fim::core
