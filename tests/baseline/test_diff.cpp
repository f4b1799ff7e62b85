#include <doctest/doctest.h>

#include "baseline/diff.h"

using namespace fim;
using events::Action;

namespace {

events::FileInfo regularFile() {
  events::FileInfo f;
  f.path = "/etc/app.conf";
  f.type = events::FileType::File;
  f.size = 100;
  f.inode = 42;
  f.device = 7;
  f.uid = 0;
  f.gid = 0;
  f.owner = "root";
  f.group = "root";
  f.mode = 0644;
  f.mtime = core::TimePoint(std::chrono::seconds(1000));
  f.ctime = core::TimePoint(std::chrono::seconds(1000));
  f.hashes[events::HashType::Sha256] = "aaaa";
  return f;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::string actions(const std::vector<Action>& v) {
  std::string out;
  for (auto a : v) out += std::string(out.empty() ? "" : ",") + events::toString(a);
  return out;
}

}  // namespace

TEST_CASE("diff: a path the baseline has never seen") {
  CHECK(actions(baseline::diff(nullptr, regularFile(), true).actions) == "created");
  CHECK(actions(baseline::diff(nullptr, regularFile(), false).actions) == "initial_scan");
}

TEST_CASE("diff: nothing changed gives no action") {
  const auto f = regularFile();
  auto change = baseline::diff(&f, f, true);
  CHECK(change.actions.empty());
  CHECK(change.changedAttributes.empty());
}

TEST_CASE("diff: every attribute, alone, is reported by name with the right action") {
  struct Case {
    const char* attribute;
    void (*mutate)(events::FileInfo&);
    const char* actions;
  };
  const Case cases[] = {
      {"hash.sha256", [](events::FileInfo& f) { f.hashes[events::HashType::Sha256] = "bbbb"; }, "updated"},
      {"type", [](events::FileInfo& f) { f.type = events::FileType::Symlink; f.size.reset(); f.hashes.clear(); },
       "attributes_modified"},
      {"inode", [](events::FileInfo& f) { f.inode = 43; }, "attributes_modified"},
      {"uid", [](events::FileInfo& f) { f.uid = 1000; }, "attributes_modified"},
      {"owner", [](events::FileInfo& f) { f.owner = "alice"; }, "attributes_modified"},
      {"gid", [](events::FileInfo& f) { f.gid = 1000; }, "attributes_modified"},
      {"group", [](events::FileInfo& f) { f.group = "staff"; }, "attributes_modified"},
      {"mode", [](events::FileInfo& f) { f.mode = 0600; }, "attributes_modified"},
      {"setuid", [](events::FileInfo& f) { f.setuid = true; }, "attributes_modified"},
      {"setgid", [](events::FileInfo& f) { f.setgid = true; }, "attributes_modified"},
      {"size", [](events::FileInfo& f) { f.size = 101; }, "attributes_modified"},
      {"mtime", [](events::FileInfo& f) { f.mtime += std::chrono::nanoseconds(1); }, "attributes_modified"},
      {"target_path", [](events::FileInfo& f) { f.targetPath = "/elsewhere"; }, "attributes_modified"},
      {"selinux", [](events::FileInfo& f) { f.selinux = "system_u:object_r:etc_t:s0"; }, "attributes_modified"},
      {"acl", [](events::FileInfo& f) { f.acl = "user::rw-,user:1000:r--,group::r--,mask::r--,other::r--"; },
       "attributes_modified"},
  };
  for (const auto& c : cases) {
    const std::string attribute = c.attribute;
    CAPTURE(attribute);
    const auto old = regularFile();
    auto now = old;
    c.mutate(now);
    auto change = baseline::diff(&old, now, true);
    CHECK(actions(change.actions) == c.actions);
    CHECK(joined(change.changedAttributes) == c.attribute);  // size and mtime count for regular files only
  }
}

TEST_CASE("diff: setuid, setgid and the sticky bit are their own attributes, not a mode change") {
  const auto old = regularFile();
  auto now = old;
  now.mode = 04644;
  now.setuid = true;
  CHECK(joined(baseline::diff(&old, now, true).changedAttributes) == "setuid");
  now = old;
  now.mode = 01644;
  CHECK(joined(baseline::diff(&old, now, true).changedAttributes) == "sticky");
  now.mode = 01600;
  CHECK(joined(baseline::diff(&old, now, true).changedAttributes) == "mode,sticky");
}

TEST_CASE("diff: ctime alone, and a directory's mtime and size, are not changes") {
  const auto old = regularFile();
  auto now = old;
  now.ctime += std::chrono::seconds(5);
  CHECK(baseline::diff(&old, now, true).actions.empty());
  events::FileInfo dir;
  dir.type = events::FileType::Dir;
  dir.mode = 0755;
  auto later = dir;
  later.mtime += std::chrono::seconds(1);
  CHECK(baseline::diff(&dir, later, true).actions.empty());
}

TEST_CASE("diff: content and metadata together, in Auditbeat's order, config_change last") {
  const auto old = regularFile();
  auto now = old;
  now.hashes[events::HashType::Sha256] = "cccc";
  now.size = 120;
  now.mtime += std::chrono::seconds(1);
  now.mode = 0600;
  auto change = baseline::diff(&old, now, true);
  CHECK(actions(change.actions) == "updated,attributes_modified");
  CHECK(joined(change.changedAttributes) == "hash.sha256,mode,size,mtime");

  now.hashes[events::HashType::Md5] = "dddd";  // newly configured hash type
  CHECK(actions(baseline::diff(&old, now, true).actions) == "updated,attributes_modified,config_change");

  auto onlyNewType = old;
  onlyNewType.hashes[events::HashType::Xxh64] = "eeee";
  auto change2 = baseline::diff(&old, onlyNewType, true);
  CHECK(actions(change2.actions) == "config_change");
  CHECK(change2.changedAttributes.empty());
}

TEST_CASE("diff: a file that was never hashed (too big, unreadable) gains hashes without config_change") {
  auto old = regularFile();
  old.hashes.clear();
  const auto now = regularFile();
  CHECK(baseline::diff(&old, now, true).actions.empty());
}

TEST_CASE("diff: a hash type dropped from the config is not a change") {
  auto old = regularFile();
  old.hashes[events::HashType::Md5] = "ffff";
  CHECK(baseline::diff(&old, regularFile(), true).actions.empty());
}
