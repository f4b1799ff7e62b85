#include "queue/event_codec.h"

#include "core/binary_codec.h"
#include "events/file_info_codec.h"

namespace fim::queue {

using core::BinaryReader;
using core::BinaryWriter;
using core::ErrorCode;
using core::failf;
using namespace events;

namespace {

constexpr std::uint8_t kBaselineRebuilt = 1;  // the flags byte of version 3

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

void writePackage(BinaryWriter& w, const PackageVerdict& p) {
  w.str(p.name);
  w.str(p.version);
  w.str(p.architecture);
  w.u8(p.verified ? (*p.verified ? 2 : 1) : 0);
  w.u8((p.conffile ? 1 : 0) | (p.byPackageManager ? 2 : 0));
}

void readPackage(BinaryReader& r, PackageVerdict& p) {
  p.name = r.str();
  p.version = r.str();
  p.architecture = r.str();
  const std::uint8_t verified = r.u8();
  if (verified != 0) p.verified = verified == 2;
  const std::uint8_t flags = r.u8();
  p.conffile = (flags & 1) != 0;
  p.byPackageManager = (flags & 2) != 0;
}

}  // namespace

std::string encodeEvent(const FileEvent& e) {
  BinaryWriter w;
  w.u8(kEventVersion);
  w.time(e.timestamp);
  w.time(e.created);
  w.u8(e.live ? 1 : 0);
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
  w.u8(e.baselineRebuilt ? kBaselineRebuilt : 0);  // version 3: flags
  w.u8(e.package ? 1 : 0);                          // version 4: the package verdict
  if (e.package) writePackage(w, *e.package);
  return w.take();
}

core::Result<FileEvent> decodeEvent(std::uint64_t sequence, std::string_view bytes) {
  BinaryReader r(bytes);
  const std::uint8_t version = r.u8();
  if (r.ok() && (version == 0 || version > kEventVersion)) {
    return failf(ErrorCode::Parse, "queued event {} has version {}, this fimbeat reads versions 1 to {}", sequence,
                 version, kEventVersion);
  }
  FileEvent e;
  e.sequence = sequence;
  e.timestamp = r.time();
  if (version >= 2) {
    e.created = r.time();
    e.live = r.u8() != 0;
  } else {
    e.created = e.timestamp;
  }
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
  if (version >= 3) e.baselineRebuilt = (r.u8() & kBaselineRebuilt) != 0;
  if (version >= 4 && r.u8() != 0) {
    PackageVerdict package;
    readPackage(r, package);
    e.package = std::move(package);
  }
  if (!r.ok() || !r.atEnd()) return failf(ErrorCode::Parse, "queued event {} is truncated or malformed", sequence);
  return e;
}

}  // namespace fim::queue
