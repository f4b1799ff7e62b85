#include <doctest/doctest.h>

#include "queue/event_codec.h"

using namespace fim;

namespace {

events::FileEvent fullEvent() {
  events::FileEvent e;
  e.timestamp = core::TimePoint(std::chrono::milliseconds(1763700000123));
  e.created = core::TimePoint(std::chrono::microseconds(1763700000122517));
  e.live = true;
  e.actions = {events::Action::Updated, events::Action::AttributesModified};
  e.file.path = "/etc/\xff" "bad";
  e.file.type = events::FileType::File;
  e.file.size = 42;
  e.file.inode = 7;
  e.file.device = 9;
  e.file.uid = 1000;
  e.file.gid = 100;
  e.file.owner = "alice";
  e.file.group = "users";
  e.file.mode = 01755;
  e.file.setuid = true;
  e.file.mtime = core::TimePoint(std::chrono::seconds(1));
  e.file.ctime = core::TimePoint(std::chrono::seconds(2));
  e.file.mimeType = "text/plain";
  e.file.acl = "user::rw-";
  e.file.hashes[events::HashType::Sha256] = "ab";
  e.file.hashes[events::HashType::Xxh64] = "cd";
  e.errorMessage = "failed to hash: EIO";
  e.module = 3;
  e.changedAttributes = {"hash.sha256", "mode"};
  events::FileInfo previous = e.file;
  previous.path = "/etc/old";
  previous.mode = 0644;
  e.previous = previous;
  e.previousPath = "/etc/old";
  events::ProcessInfo p;
  p.pid = 4242;
  p.name = "vim";
  p.executable = "/usr/bin/vim";
  p.args = {"vim", "/etc/x"};
  p.parentPid = 1;
  p.workingDirectory = "/root";
  p.userId = 0;
  p.userName = "root";
  p.groupId = 0;
  p.groupName = "root";
  p.containerId = "abc";
  p.containerRuntime = "docker";
  e.process = p;
  return e;
}

}  // namespace

TEST_CASE("event codec: every field survives a round trip") {
  const events::FileEvent e = fullEvent();
  auto decoded = queue::decodeEvent(17, queue::encodeEvent(e));
  REQUIRE(decoded.has_value());
  CHECK(decoded->sequence == 17);
  CHECK((decoded->timestamp == e.timestamp));
  CHECK((decoded->created == e.created));
  CHECK(decoded->live);
  CHECK((decoded->actions == e.actions));
  CHECK(decoded->file.path == e.file.path);
  CHECK(decoded->file.size == e.file.size);
  CHECK(decoded->file.owner == "alice");
  CHECK(decoded->file.mode == 01755);
  CHECK(decoded->file.setuid);
  CHECK_FALSE(decoded->file.setgid);
  CHECK((decoded->file.hashes == e.file.hashes));
  CHECK(decoded->file.acl == e.file.acl);
  CHECK_FALSE(decoded->file.selinux.has_value());
  CHECK(decoded->errorMessage == e.errorMessage);
  CHECK(decoded->module == 3);
  CHECK(decoded->changedAttributes == e.changedAttributes);
  REQUIRE(decoded->previous.has_value());
  CHECK(decoded->previous->path == "/etc/old");
  CHECK(decoded->previous->mode == 0644);
  CHECK(decoded->previousPath == "/etc/old");
  REQUIRE(decoded->process.has_value());
  CHECK(decoded->process->pid == 4242);
  CHECK(decoded->process->args == e.process->args);
  CHECK(decoded->process->parentPid == 1);
  CHECK(decoded->process->userId == 0u);
  CHECK(decoded->process->containerRuntime == "docker");
}

TEST_CASE("event codec: a minimal event keeps its absent fields absent") {
  events::FileEvent e;
  e.actions = {events::Action::Deleted};
  e.file.path = "/x";
  auto decoded = queue::decodeEvent(1, queue::encodeEvent(e));
  REQUIRE(decoded.has_value());
  CHECK_FALSE(decoded->file.size.has_value());
  CHECK_FALSE(decoded->previous.has_value());
  CHECK_FALSE(decoded->process.has_value());
  CHECK_FALSE(decoded->errorMessage.has_value());
}

TEST_CASE("event codec: an entry of version 1, as fimbeat 0.1 queued it, is read, created is its timestamp") {
  events::FileEvent e = fullEvent();
  std::string v5 = queue::encodeEvent(e);
  // Version 1 is version 5 without created (8 bytes) and live (1 byte) after the timestamp, and
  // without the flags byte (no version 4 part is set, so nothing follows it) and the generation
  // (4 bytes) at the end.
  std::string v1 = v5.substr(0, 9) + v5.substr(18, v5.size() - 18 - 5);
  v1[0] = 1;
  auto decoded = queue::decodeEvent(5, v1);
  REQUIRE_MESSAGE(decoded.has_value(), (decoded ? "" : decoded.error().message()));
  CHECK((decoded->created == e.timestamp));
  CHECK_FALSE(decoded->live);
  CHECK(decoded->file.path == e.file.path);
  CHECK(decoded->process->executable == "/usr/bin/vim");
}

TEST_CASE("event codec: version 2 entries (no flags byte) are read, and the rebuilt flag round-trips") {
  events::FileEvent e = fullEvent();
  e.baselineRebuilt = true;
  const std::string v5 = queue::encodeEvent(e);
  auto decoded = queue::decodeEvent(7, v5);
  REQUIRE(decoded.has_value());
  CHECK(decoded->baselineRebuilt);
  std::string v3 = v5.substr(0, v5.size() - 4);  // without the generation; none of version 4's flags is set
  v3[0] = 3;
  auto three = queue::decodeEvent(9, v3);
  REQUIRE_MESSAGE(three.has_value(), (three ? "" : three.error().message()));
  CHECK(three->baselineRebuilt);
  std::string v2 = v5.substr(0, v5.size() - 5);
  v2[0] = 2;
  auto old = queue::decodeEvent(8, v2);
  REQUIRE_MESSAGE(old.has_value(), (old ? "" : old.error().message()));
  CHECK_FALSE(old->baselineRebuilt);
  CHECK(old->file.path == e.file.path);
}

TEST_CASE("event codec: version 5 keeps the configuration generation, and version 4 entries belong to generation 0") {
  events::FileEvent e = fullEvent();
  e.generation = 0x01020304;
  e.baselineRebuilt = true;
  e.approval = events::ApprovalMark{"a1b2c3d4", "CHG-1234", core::TimePoint(std::chrono::milliseconds(1'790'000'000'123))};
  const std::string v5 = queue::encodeEvent(e);
  CHECK(v5[0] == 5);
  auto decoded = queue::decodeEvent(9, v5);
  REQUIRE(decoded.has_value());
  CHECK(decoded->generation == 0x01020304u);
  CHECK_FALSE(decoded->delivery);  // attached by the queue, never stored with the event
  std::string v4 = v5.substr(0, v5.size() - 4);
  v4[0] = 4;
  auto old = queue::decodeEvent(10, v4);
  REQUIRE_MESSAGE(old.has_value(), (old ? "" : old.error().message()));
  CHECK(old->generation == 0);
  CHECK(old->baselineRebuilt);
  REQUIRE(old->approval.has_value());
  CHECK(old->approval->reason == "CHG-1234");
  CHECK(old->process->executable == "/usr/bin/vim");
}

TEST_CASE("event codec: the approval round-trips in version 4, a version 3 entry has none") {
  events::FileEvent e = fullEvent();
  e.baselineRebuilt = true;
  e.approval = events::ApprovalMark{"a1b2c3d4", "CHG-1234", core::TimePoint(std::chrono::milliseconds(1'790'000'000'123))};
  const std::string v4 = queue::encodeEvent(e);
  auto decoded = queue::decodeEvent(9, v4);
  REQUIRE_MESSAGE(decoded.has_value(), (decoded ? "" : decoded.error().message()));
  REQUIRE(decoded->approval.has_value());
  CHECK(decoded->approval->id == "a1b2c3d4");
  CHECK(decoded->approval->reason == "CHG-1234");
  CHECK((decoded->approval->expires == e.approval->expires));
  CHECK(decoded->baselineRebuilt);
  e.approval.reset();
  std::string v3 = queue::encodeEvent(e);
  v3.resize(v3.size() - 4);  // without version 5's generation
  v3[0] = 3;
  auto old = queue::decodeEvent(10, v3);
  REQUIRE_MESSAGE(old.has_value(), (old ? "" : old.error().message()));
  CHECK_FALSE(old->approval.has_value());
  CHECK(old->baselineRebuilt);
}

TEST_CASE("event codec: file.elf.* round-trips in version 4, field by field, and version 3 entries have none") {
  events::FileEvent e = fullEvent();
  e.baselineRebuilt = true;
  const std::string v3 = [&] {
    std::string bytes = queue::encodeEvent(e);  // no approval, no file.elf.*: no flag, nothing follows
    bytes.resize(bytes.size() - 4);             // but version 5's generation
    bytes[0] = 3;
    return bytes;
  }();
  auto old = queue::decodeEvent(9, v3);
  REQUIRE_MESSAGE(old.has_value(), (old ? "" : old.error().message()));
  CHECK(old->baselineRebuilt);
  CHECK_FALSE(old->elf.has_value());

  events::ElfInfo elf;
  elf.sections = std::vector<events::ElfSection>{{"", 0, 0, 0.0, 0.0}, {".text", 4096, 4096, 6.02, 1.5e-5}, {".bss", {}, 64, {}, {}}};
  elf.importHash = "d41d8cd98f00b204e9800998ecf8427e";
  elf.imports = std::vector<std::string>{"libc.so.6.puts", ".weird"};
  elf.importsNamesEntropy = 3.25;
  elf.importsNamesVarEntropy = 0.001;
  elf.goImportHash = "0123";
  elf.goImports = std::vector<std::string>{};
  elf.goImportsNamesEntropy = 4.5;
  elf.goImportsNamesVarEntropy = 2e-7;
  elf.goStripped = false;
  for (int mask = 0; mask < 4; ++mask) {  // all fields, none, and two halves
    CAPTURE(mask);
    events::ElfInfo part = elf;
    if (mask == 1) part = events::ElfInfo{};
    if (mask == 2) part.sections.reset(), part.importHash.reset(), part.goStripped.reset();
    if (mask == 3) part.imports.reset(), part.goImports.reset(), part.importsNamesVarEntropy.reset();
    e.elf = part;
    auto decoded = queue::decodeEvent(10, queue::encodeEvent(e));
    REQUIRE(decoded.has_value());
    CHECK(decoded->elf == e.elf);
    CHECK(decoded->process->pid == 4242);
  }
}

TEST_CASE("event codec: version 4 keeps which digests are stale and when the process started") {
  events::FileEvent e = fullEvent();
  e.file.hashesStale = true;
  e.process->startTime = core::TimePoint(std::chrono::nanoseconds(1'700'000'002'009'999'999LL));
  auto decoded = queue::decodeEvent(3, queue::encodeEvent(e));
  REQUIRE(decoded.has_value());
  CHECK(decoded->file.hashesStale);
  CHECK_FALSE(decoded->previous->hashesStale);
  REQUIRE(decoded->process->startTime.has_value());
  CHECK((*decoded->process->startTime == *e.process->startTime));
  e.file.hashesStale = false;
  e.previous->hashesStale = true;
  e.process->startTime.reset();
  decoded = queue::decodeEvent(4, queue::encodeEvent(e));
  REQUIRE(decoded.has_value());
  CHECK_FALSE(decoded->file.hashesStale);
  CHECK(decoded->previous->hashesStale);
  CHECK_FALSE(decoded->process->startTime.has_value());
}

TEST_CASE("event codec: the package verdict and the diff round-trip in version 5, a version 4 entry has none") {
  events::FileEvent e = fullEvent();
  e.package = events::PackageVerdict{"openssh-server", "1:9.2p1-2+deb12u3", "amd64", false, false, true};
  e.diff = "--- /etc/x\n+++ /etc/x\n@@ -1 +1 @@\n-a\n+b\n";
  e.generation = 7;  // after both
  auto decoded = queue::decodeEvent(11, queue::encodeEvent(e));
  REQUIRE_MESSAGE(decoded.has_value(), (decoded ? "" : decoded.error().message()));
  REQUIRE(decoded->package.has_value());
  CHECK(decoded->package->name == "openssh-server");
  CHECK(decoded->package->version == "1:9.2p1-2+deb12u3");
  CHECK(decoded->package->architecture == "amd64");
  CHECK(decoded->package->verified == std::optional<bool>(false));
  CHECK_FALSE(decoded->package->conffile);
  CHECK(decoded->package->byPackageManager);
  CHECK(decoded->diff == e.diff);
  CHECK(decoded->generation == 7u);
  e.package->verified.reset();
  e.package->conffile = true;
  e.diff.reset();
  decoded = queue::decodeEvent(12, queue::encodeEvent(e));
  REQUIRE(decoded.has_value());
  CHECK_FALSE(decoded->package->verified.has_value());
  CHECK(decoded->package->conffile);
  CHECK_FALSE(decoded->diff.has_value());
  e.package.reset();
  std::string v4 = queue::encodeEvent(e);
  v4.resize(v4.size() - 4);  // without the generation
  v4[0] = 4;
  auto old = queue::decodeEvent(13, v4);
  REQUIRE_MESSAGE(old.has_value(), (old ? "" : old.error().message()));
  CHECK_FALSE(old->package.has_value());
}

TEST_CASE("event codec: truncated, extended or foreign-version entries are errors") {
  const std::string bytes = queue::encodeEvent(fullEvent());
  for (std::size_t cut : {std::size_t{0}, std::size_t{1}, bytes.size() / 2, bytes.size() - 1}) {
    CAPTURE(cut);
    CHECK_FALSE(queue::decodeEvent(1, bytes.substr(0, cut)).has_value());
  }
  CHECK_FALSE(queue::decodeEvent(1, bytes + "x").has_value());
  std::string other = bytes;
  other[0] = static_cast<char>(queue::kEventVersion + 1);
  auto decoded = queue::decodeEvent(5, other);
  REQUIRE_FALSE(decoded.has_value());
  CHECK(decoded.error().message().find("version") != std::string::npos);
}
