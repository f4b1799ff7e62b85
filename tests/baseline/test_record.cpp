#include <doctest/doctest.h>

#include "baseline/record.h"
#include "core/binary_codec.h"
#include "events/file_info_codec.h"
#include "support/legacy_formats.h"

using namespace fim;

TEST_CASE("record: every field survives an encode/decode round trip") {
  events::FileInfo f;
  f.path = "/srv/bad\xff name";
  f.type = events::FileType::File;
  f.size = 123456789012ull;
  f.inode = 0xfedcba9876543210ull;
  f.device = 2049;
  f.uid = 4294967294u;
  f.gid = 1000;
  f.owner = "nobody";
  f.group = "users";
  f.mode = 04755;
  f.setuid = true;
  f.setgid = false;
  f.mtime = core::TimePoint(std::chrono::nanoseconds(1650445339365123456));
  f.ctime = core::TimePoint(std::chrono::nanoseconds(-5));
  f.targetPath = std::nullopt;
  f.mimeType = "text/plain";
  f.selinux = "system_u:object_r:etc_t:s0";
  f.acl = "user::rwx,user:1000:r--,group::r-x,mask::r-x,other::r-x";
  f.hashes[events::HashType::Sha256] = "ab";
  f.hashes[events::HashType::Xxh64] = "cd";

  const std::string bytes = baseline::encodeRecord(f);
  CHECK(static_cast<std::uint8_t>(bytes[0]) == baseline::kRecordVersion);
  auto back = baseline::decodeRecord(f.path, bytes);
  REQUIRE(back.has_value());
  const auto& g = *back;
  CHECK(g.path == f.path);
  CHECK((g.type == f.type));
  CHECK(g.size == f.size);
  CHECK(g.inode == f.inode);
  CHECK(g.device == f.device);
  CHECK(g.uid == f.uid);
  CHECK(g.gid == f.gid);
  CHECK(g.owner == f.owner);
  CHECK(g.group == f.group);
  CHECK(g.mode == f.mode);
  CHECK(g.setuid);
  CHECK_FALSE(g.setgid);
  CHECK((g.mtime == f.mtime));
  CHECK((g.ctime == f.ctime));
  CHECK_FALSE(g.targetPath.has_value());
  CHECK(g.mimeType == f.mimeType);
  CHECK(g.selinux == f.selinux);
  CHECK(g.acl == f.acl);
  CHECK((g.hashes == f.hashes));
}

TEST_CASE("record: a truncated or extended record, or an unknown version, is an error, never garbage") {
  events::FileInfo r;
  r.path = "/x";
  r.type = events::FileType::Dir;
  const std::string bytes = baseline::encodeRecord(r);
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    CAPTURE(cut);
    CHECK_FALSE(baseline::decodeRecord("/x", bytes.substr(0, cut)).has_value());
  }
  CHECK_FALSE(baseline::decodeRecord("/x", bytes + "?").has_value());
  std::string future = bytes;
  future[0] = static_cast<char>(baseline::kRecordVersion + 1);
  auto err = baseline::decodeRecord("/x", future);
  REQUIRE_FALSE(err.has_value());
  CHECK(err.error().message() == "the baseline record of /x has version 4; this fimbeat reads versions 1 to 3");
}

namespace {

events::FileInfo fullRecord() {
  events::FileInfo f;
  f.path = "/etc/app.conf";
  f.type = events::FileType::File;
  f.size = 4096;
  f.inode = 0xfedcba9876543210ull;
  f.device = 2049;
  f.uid = 65534;
  f.gid = 100;
  f.owner = "nobody";
  f.group = "users";
  f.mode = 02640;
  f.setgid = true;
  f.mtime = core::TimePoint(std::chrono::nanoseconds(1650445339365123456));
  f.ctime = core::TimePoint(std::chrono::nanoseconds(1650445339365999999));
  f.mimeType = "text/plain";
  f.selinux = "system_u:object_r:etc_t:s0";
  f.acl = "user::rw-,user:1000:r--,group::r--,mask::r--,other::---";
  f.hashes[events::HashType::Sha256] = std::string(64, 'a');
  f.hashes[events::HashType::Xxh64] = std::string(16, 'b');
  return f;
}


void checkSameStamp(const events::FileStamp& got, const events::FileStamp& want) {
  CHECK((got.type == want.type));
  CHECK(got.size == want.size);
  CHECK(got.inode == want.inode);
  CHECK(got.device == want.device);
  CHECK(got.uid == want.uid);
  CHECK(got.gid == want.gid);
  CHECK(got.owner == want.owner);
  CHECK(got.group == want.group);
  CHECK(got.mode == want.mode);
  CHECK(got.setuid == want.setuid);
  CHECK(got.setgid == want.setgid);
  CHECK((got.mtime == want.mtime));
  CHECK((got.ctime == want.ctime));
  CHECK(got.hasMimeType == want.hasMimeType);
  CHECK(got.hashTypes == want.hashTypes);
}

}  // namespace

TEST_CASE("record: its stamp, read in place, says what stampOf says of its metadata") {
  SUBCASE("every field set") {
    const events::FileInfo r = fullRecord();
    const std::string bytes = baseline::encodeRecord(r);
    auto stamp = baseline::stampOfRecord(bytes);
    REQUIRE(stamp.has_value());
    checkSameStamp(*stamp, events::stampOf(r));
    CHECK(stamp->hashTypes == (events::FileStamp::hashBit(events::HashType::Sha256) |
                               events::FileStamp::hashBit(events::HashType::Xxh64)));
    CHECK(stamp->hasMimeType);
    CHECK(stamp->setgid);
    // In place: the names point into the record's bytes.
    CHECK(stamp->owner.data() >= bytes.data());
    CHECK(stamp->owner.data() + stamp->owner.size() <= bytes.data() + bytes.size());
  }
  SUBCASE("a directory: no size, no MIME type, no digests") {
    events::FileInfo r;
    r.path = "/etc";
    r.type = events::FileType::Dir;
    r.owner = "root";
    const std::string bytes = baseline::encodeRecord(r);
    auto stamp = baseline::stampOfRecord(bytes);
    REQUIRE(stamp.has_value());
    checkSameStamp(*stamp, events::stampOf(r));
    CHECK_FALSE(stamp->size.has_value());
    CHECK_FALSE(stamp->hasMimeType);
    CHECK(stamp->hashTypes == 0);
  }
}

TEST_CASE("record: version 1, as databases of format 1 hold it, is read with the same stamp") {
  const events::FileInfo f = fullRecord();
  const std::string old = testing::version1Record(f);
  auto back = baseline::decodeRecord(f.path, old);
  REQUIRE(back.has_value());
  CHECK(baseline::encodeRecord(*back) == baseline::encodeRecord(f));
  auto stamp = baseline::stampOfRecord(old);
  REQUIRE(stamp.has_value());
  checkSameStamp(*stamp, events::stampOf(f));
  CHECK_FALSE(baseline::decodeRecord(f.path, old.substr(0, old.size() - 1)).has_value());
}

TEST_CASE("record: version 3 keeps whether the digests are stale, version 2 records are read as fresh") {
  events::FileInfo f = fullRecord();
  f.hashesStale = true;
  const std::string bytes = baseline::encodeRecord(f);
  auto back = baseline::decodeRecord(f.path, bytes);
  REQUIRE(back.has_value());
  CHECK(back->hashesStale);
  CHECK((back->hashes == f.hashes));
  auto stamp = baseline::stampOfRecord(bytes);
  REQUIRE(stamp.has_value());
  CHECK(stamp->hashesStale);

  const std::string old = testing::version2Record(fullRecord());
  auto two = baseline::decodeRecord(f.path, old);
  REQUIRE(two.has_value());
  CHECK_FALSE(two->hashesStale);
  CHECK(baseline::encodeRecord(*two) == baseline::encodeRecord(fullRecord()));
  auto oldStamp = baseline::stampOfRecord(old);
  REQUIRE(oldStamp.has_value());
  checkSameStamp(*oldStamp, events::stampOf(fullRecord()));
  CHECK_FALSE(oldStamp->hashesStale);
  CHECK_FALSE(baseline::decodeRecord(f.path, old + "x").has_value());
}

TEST_CASE("record: a record cut anywhere, or of an unknown version, has no stamp") {
  const std::string bytes = baseline::encodeRecord(fullRecord());
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    CAPTURE(cut);
    CHECK_FALSE(baseline::stampOfRecord(bytes.substr(0, cut)).has_value());
  }
  std::string future = bytes;
  future[0] = static_cast<char>(baseline::kRecordVersion + 1);
  CHECK_FALSE(baseline::stampOfRecord(future).has_value());
}
