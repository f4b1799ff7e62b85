#include "queue/event_codec.h"

#include <bit>

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
constexpr std::uint8_t kApproved = 2;         // version 4: an approval (id, reason, expires) follows the flags
constexpr std::uint8_t kElf = 4;              // version 4: file.elf.* follows (after the approval)
constexpr std::uint8_t kFileHashesStale = 8;  // version 4: the file's digests are from before a failed hash
constexpr std::uint8_t kPreviousHashesStale = 16;  // version 4: the same for file_integrity.previous
constexpr std::uint8_t kProcessStarted = 32;  // version 4: the acting process's start time follows
constexpr std::uint8_t kPackage = 64;         // version 5: the package verdict follows (after the start time)
constexpr std::uint8_t kDiff = 128;           // version 5: file_integrity.diff follows (after the verdict)

// Version 4: file.elf.*, each field behind one presence bit (the parser sets only what was asked).
enum ElfBit : std::uint32_t {
  kSections = 1u << 0,
  kImportHash = 1u << 1,
  kImports = 1u << 2,
  kImportsEntropy = 1u << 3,
  kImportsVarEntropy = 1u << 4,
  kGoImportHash = 1u << 5,
  kGoImports = 1u << 6,
  kGoImportsEntropy = 1u << 7,
  kGoImportsVarEntropy = 1u << 8,
  kGoStripped = 1u << 9,
};
enum SectionBit : std::uint8_t { kName = 1, kPhysical = 2, kVirtual = 4, kEntropy = 8, kVarEntropy = 16 };

void writeDouble(BinaryWriter& w, double d) { w.u64(std::bit_cast<std::uint64_t>(d)); }
double readDouble(BinaryReader& r) { return std::bit_cast<double>(r.u64()); }

void writeStrings(BinaryWriter& w, const std::vector<std::string>& list) {
  w.u32(static_cast<std::uint32_t>(list.size()));
  for (const auto& s : list) w.str(s);
}

std::vector<std::string> readStrings(BinaryReader& r) {
  std::vector<std::string> out;
  const std::uint32_t n = r.u32();
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) out.push_back(r.str());
  return out;
}

template <typename T>
void setBit(std::uint32_t& bits, std::uint32_t bit, const std::optional<T>& field) {
  if (field) bits |= bit;
}

void writeSection(BinaryWriter& w, const ElfSection& s) {
  w.u8(static_cast<std::uint8_t>((s.name ? kName : 0) | (s.physicalSize ? kPhysical : 0) | (s.virtualSize ? kVirtual : 0) |
                                 (s.entropy ? kEntropy : 0) | (s.varEntropy ? kVarEntropy : 0)));
  if (s.name) w.str(*s.name);
  if (s.physicalSize) w.u64(*s.physicalSize);
  if (s.virtualSize) w.u64(*s.virtualSize);
  if (s.entropy) writeDouble(w, *s.entropy);
  if (s.varEntropy) writeDouble(w, *s.varEntropy);
}

ElfSection readSection(BinaryReader& r) {
  ElfSection s;
  const std::uint8_t bits = r.u8();
  if (bits & kName) s.name = r.str();
  if (bits & kPhysical) s.physicalSize = r.u64();
  if (bits & kVirtual) s.virtualSize = r.u64();
  if (bits & kEntropy) s.entropy = readDouble(r);
  if (bits & kVarEntropy) s.varEntropy = readDouble(r);
  return s;
}

void writeElf(BinaryWriter& w, const ElfInfo& e) {
  std::uint32_t bits = 0;
  setBit(bits, kSections, e.sections);
  setBit(bits, kImportHash, e.importHash);
  setBit(bits, kImports, e.imports);
  setBit(bits, kImportsEntropy, e.importsNamesEntropy);
  setBit(bits, kImportsVarEntropy, e.importsNamesVarEntropy);
  setBit(bits, kGoImportHash, e.goImportHash);
  setBit(bits, kGoImports, e.goImports);
  setBit(bits, kGoImportsEntropy, e.goImportsNamesEntropy);
  setBit(bits, kGoImportsVarEntropy, e.goImportsNamesVarEntropy);
  setBit(bits, kGoStripped, e.goStripped);
  w.u32(bits);
  if (e.sections) {
    w.u32(static_cast<std::uint32_t>(e.sections->size()));
    for (const auto& s : *e.sections) writeSection(w, s);
  }
  if (e.importHash) w.str(*e.importHash);
  if (e.imports) writeStrings(w, *e.imports);
  if (e.importsNamesEntropy) writeDouble(w, *e.importsNamesEntropy);
  if (e.importsNamesVarEntropy) writeDouble(w, *e.importsNamesVarEntropy);
  if (e.goImportHash) w.str(*e.goImportHash);
  if (e.goImports) writeStrings(w, *e.goImports);
  if (e.goImportsNamesEntropy) writeDouble(w, *e.goImportsNamesEntropy);
  if (e.goImportsNamesVarEntropy) writeDouble(w, *e.goImportsNamesVarEntropy);
  if (e.goStripped) w.u8(*e.goStripped ? 1 : 0);
}

ElfInfo readElf(BinaryReader& r) {
  ElfInfo e;
  const std::uint32_t bits = r.u32();
  if (bits & kSections) {
    e.sections.emplace();
    const std::uint32_t n = r.u32();
    for (std::uint32_t i = 0; i < n && r.ok(); ++i) e.sections->push_back(readSection(r));
  }
  if (bits & kImportHash) e.importHash = r.str();
  if (bits & kImports) e.imports = readStrings(r);
  if (bits & kImportsEntropy) e.importsNamesEntropy = readDouble(r);
  if (bits & kImportsVarEntropy) e.importsNamesVarEntropy = readDouble(r);
  if (bits & kGoImportHash) e.goImportHash = r.str();
  if (bits & kGoImports) e.goImports = readStrings(r);
  if (bits & kGoImportsEntropy) e.goImportsNamesEntropy = readDouble(r);
  if (bits & kGoImportsVarEntropy) e.goImportsNamesVarEntropy = readDouble(r);
  if (bits & kGoStripped) e.goStripped = r.u8() != 0;
  return e;
}

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

// Version 5: package.* and file_integrity.package_verified/package_conffile/change_source.
void writePackage(BinaryWriter& w, const PackageVerdict& p) {
  w.str(p.name);
  w.str(p.version);
  w.str(p.architecture);
  w.u8(p.verified ? (*p.verified ? 2 : 1) : 0);  // 0: not checked, 1: differs, 2: matches
  w.u8((p.conffile ? 1 : 0) | (p.byPackageManager ? 2 : 0));
}

PackageVerdict readPackage(BinaryReader& r) {
  PackageVerdict p;
  p.name = r.str();
  p.version = r.str();
  p.architecture = r.str();
  if (const std::uint8_t verified = r.u8(); verified != 0) p.verified = verified == 2;
  const std::uint8_t flags = r.u8();
  p.conffile = (flags & 1) != 0;
  p.byPackageManager = (flags & 2) != 0;
  return p;
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
  // version 3: flags; version 4: more flags, then an approval, file.elf.* and the process's start;
  // version 5: the package verdict and the diff
  const bool started = e.process && e.process->startTime;
  w.u8((e.baselineRebuilt ? kBaselineRebuilt : 0) | (e.approval ? kApproved : 0) | (e.elf ? kElf : 0) |
       (e.file.hashesStale ? kFileHashesStale : 0) | (e.previous && e.previous->hashesStale ? kPreviousHashesStale : 0) |
       (started ? kProcessStarted : 0) | (e.package ? kPackage : 0) | (e.diff ? kDiff : 0));
  if (e.approval) {
    w.str(e.approval->id);
    w.str(e.approval->reason);
    w.time(e.approval->expires);
  }
  if (e.elf) writeElf(w, *e.elf);
  if (started) w.time(*e.process->startTime);
  if (e.package) writePackage(w, *e.package);  // version 5
  if (e.diff) w.str(*e.diff);
  w.u32(e.generation);
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
  const std::uint8_t flags = version >= 3 ? r.u8() : 0;
  e.baselineRebuilt = (flags & kBaselineRebuilt) != 0;
  if (version >= 4 && (flags & kApproved) != 0) {
    ApprovalMark approval;
    approval.id = r.str();
    approval.reason = r.str();
    approval.expires = r.time();
    e.approval = std::move(approval);
  }
  if (version >= 4 && (flags & kElf) != 0) e.elf = readElf(r);
  if (version >= 4) {
    e.file.hashesStale = (flags & kFileHashesStale) != 0;
    if (e.previous) e.previous->hashesStale = (flags & kPreviousHashesStale) != 0;
    if ((flags & kProcessStarted) != 0) {
      const core::TimePoint started = r.time();
      if (e.process) e.process->startTime = started;
    }
  }
  if (version >= 5 && (flags & kPackage) != 0) e.package = readPackage(r);
  if (version >= 5 && (flags & kDiff) != 0) e.diff = r.str();
  if (version >= 5) e.generation = r.u32();  // older entries: generation 0, the settings of the upgrade's start
  if (!r.ok() || !r.atEnd()) return failf(ErrorCode::Parse, "queued event {} is truncated or malformed", sequence);
  return e;
}

}  // namespace fim::queue
