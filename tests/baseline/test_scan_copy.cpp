#include <doctest/doctest.h>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "baseline/rocksdb_store.h"
#include "baseline/scan_copy.h"
#include "support/temp_dir.h"

using namespace fim;

namespace {

using Records = std::vector<std::pair<std::string, std::string>>;

core::Status writeCopy(const std::string& path, std::uint64_t sequence, std::string_view identity,
                       const Records& records) {
  return baseline::ScanCopy::write(path, sequence, identity, [&](const auto& emit) {
    for (const auto& [k, v] : records) {
      if (!emit(k, v)) break;
    }
    return core::Status();
  });
}

Records readAll(core::KvCursor& cursor, std::string_view from = "") {
  Records out;
  for (cursor.seek(from); cursor.valid(); cursor.next()) out.emplace_back(cursor.key(), cursor.value());
  REQUIRE(cursor.status().has_value());
  return out;
}

void flipByte(const std::string& path, std::streamoff at) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(at);
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x20);
  f.seekp(at);
  f.write(&c, 1);
}

Records storeRecords(baseline::RocksDbStore& store) {
  auto cursor = store.cursor(core::Family::Baseline);
  return readAll(*cursor);
}

}  // namespace

TEST_CASE("scan copy: records read back in key order; seek goes to the first key at or after it") {
  testing::TempDir dir;
  const std::string path = dir.str() + "/copy";
  const Records records{
      {"/a", "dir"}, {"/a/b", std::string("x\0y", 3)}, {"/a/c", ""}, {"/b", std::string(70000, 'v')}};
  REQUIRE(writeCopy(path, 42, "db-1", records).has_value());
  auto copy = baseline::ScanCopy::open(path);
  REQUIRE(copy.has_value());
  CHECK((*copy)->count() == 4);
  CHECK((*copy)->describes(42, "db-1"));
  CHECK_FALSE((*copy)->describes(43, "db-1"));
  CHECK_FALSE((*copy)->describes(42, "db-2"));
  auto cursor = (*copy)->cursor();
  CHECK(readAll(*cursor) == records);
  CHECK(readAll(*cursor, "/a/") == Records(records.begin() + 1, records.end()));
  CHECK(readAll(*cursor, "/a/bb") == Records(records.begin() + 2, records.end()));
  cursor->seek("/c");
  CHECK_FALSE(cursor->valid());
  copy->reset();  // the cursor keeps the mapping
  cursor->seek("/b");
  REQUIRE(cursor->valid());
  CHECK(cursor->value().size() == 70000);
}

TEST_CASE("scan copy: an empty baseline, a renumbered header, and damage anywhere are told apart") {
  testing::TempDir dir;
  const std::string path = dir.str() + "/copy";
  REQUIRE(writeCopy(path, 7, "id", {}).has_value());
  auto empty = baseline::ScanCopy::open(path);
  REQUIRE(empty.has_value());
  CHECK((*empty)->count() == 0);

  REQUIRE(writeCopy(path, 7, "id", {{"/k1", "v1"}, {"/k2", "v2"}}).has_value());
  REQUIRE(baseline::ScanCopy::renumber(path, 9).has_value());
  auto renumbered = baseline::ScanCopy::open(path);
  REQUIRE(renumbered.has_value());
  CHECK((*renumbered)->describes(9, "id"));
  CHECK_FALSE((*renumbered)->describes(7, "id"));
  CHECK((*renumbered)->count() == 2);

  const auto size = static_cast<std::streamoff>(std::filesystem::file_size(path));
  for (std::streamoff at : {std::streamoff{0}, std::streamoff{17}, std::streamoff{70}, size - 3}) {
    CAPTURE(at);
    flipByte(path, at);
    CHECK_FALSE(baseline::ScanCopy::open(path).has_value());
    flipByte(path, at);
    CHECK(baseline::ScanCopy::open(path).has_value());
  }
  std::filesystem::resize_file(path, static_cast<std::uintmax_t>(size - 8));
  CHECK_FALSE(baseline::ScanCopy::open(path).has_value());
  CHECK_FALSE(baseline::ScanCopy::open(dir.str() + "/absent").has_value());
  std::filesystem::create_symlink(dir.str() + "/absent", dir.str() + "/link");
  CHECK_FALSE(baseline::ScanCopy::open(dir.str() + "/link").has_value());
}

TEST_CASE("scan copy: a record out of bounds (the file changed after its check) ends the cursor with an error") {
  testing::TempDir dir;
  const std::string path = dir.str() + "/copy";
  REQUIRE(writeCopy(path, 1, "id", {{"/a", "1"}, {"/b", "2"}, {"/c", "3"}}).has_value());
  auto copy = baseline::ScanCopy::open(path);
  REQUIRE(copy.has_value());
  auto cursor = (*copy)->cursor();
  cursor->seek("/b");
  REQUIRE(cursor->valid());
  CHECK(cursor->key() == "/b");
  // The third record's offset, after the 64-byte header and three records of 8 + 2 + 1 bytes.
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(64 + 3 * 11 + 2 * 8);
    const char huge[8] = {'\xff', '\xff', '\xff', '\xff', '\xff', '\xff', '\xff', '\x7f'};
    f.write(huge, sizeof huge);
  }
  cursor->next();
  CHECK_FALSE(cursor->valid());
  CHECK_FALSE(cursor->status().has_value());
  auto fresh = (*copy)->cursor();
  std::vector<std::string> keys;
  for (fresh->seek("/a"); fresh->valid(); fresh->next()) keys.emplace_back(fresh->key());
  CHECK(keys == std::vector<std::string>{"/a", "/b"});
  CHECK_FALSE(fresh->status().has_value());
}

TEST_CASE("rocksdb store: after a clean stop the baseline's cursors read the scan copy until the family is written") {
  testing::TempDir dir;
  const std::string path = dir.str() + "/db";
  {
    auto store = baseline::RocksDbStore::open(path);
    REQUIRE(store.has_value());
    CHECK((*store)->scanCopyRecords() == 0);  // a new database has none
    core::WriteBatch batch;
    for (int i = 0; i < 300; ++i) {
      batch.put(core::Family::Baseline, fmt::format("/r/{}", 1000 + i), fmt::format("v{}", i));
    }
    batch.put(core::Family::Meta, "m", "1");
    REQUIRE((*store)->write(batch).has_value());
  }
  Records expected;
  for (int i = 0; i < 300; ++i) expected.emplace_back(fmt::format("/r/{}", 1000 + i), fmt::format("v{}", i));
  {
    auto store = baseline::RocksDbStore::open(path);
    REQUIRE(store.has_value());
    CHECK((*store)->scanCopyRecords() == 300);
    CHECK(storeRecords(**store) == expected);
    // Other families' writes leave the copy in use.
    core::WriteBatch meta;
    meta.put(core::Family::Meta, "m", "2");
    meta.put(core::Family::Queue, "q", "event");
    REQUIRE((*store)->write(meta).has_value());
    CHECK((*store)->scanCopyRecords() == 300);
    auto before = (*store)->cursor(core::Family::Baseline);  // made before the write: reads the copy
    core::WriteBatch change;
    change.put(core::Family::Baseline, "/r/1000", "changed");
    change.remove(core::Family::Baseline, "/r/1299");
    REQUIRE((*store)->write(change).has_value());
    CHECK((*store)->scanCopyRecords() == 0);
    CHECK(readAll(*before) == expected);
    expected.front().second = "changed";
    expected.pop_back();
    CHECK(storeRecords(**store) == expected);  // RocksDB itself now
  }
  {
    auto store = baseline::RocksDbStore::open(path);  // the stop wrote the copy afresh
    REQUIRE(store.has_value());
    CHECK((*store)->scanCopyRecords() == 299);
    CHECK(storeRecords(**store) == expected);
    core::WriteBatch meta;
    meta.put(core::Family::Meta, "m", "3");
    REQUIRE((*store)->write(meta).has_value());
    (*store)->releaseScanCopy();
    CHECK((*store)->scanCopyRecords() == 0);
    CHECK(storeRecords(**store) == expected);
  }
  auto store = baseline::RocksDbStore::open(path);  // renumbered for the meta write: still in use
  REQUIRE(store.has_value());
  CHECK((*store)->scanCopyRecords() == 299);
  CHECK(storeRecords(**store) == expected);
}

TEST_CASE("rocksdb store: a scan copy of another state of the database is never read, and is removed") {
  testing::TempDir dir;
  const std::string path = dir.str() + "/db";
  const std::string copy = path + "/fimbeat-scan-copy";
  {
    auto store = baseline::RocksDbStore::open(path);
    REQUIRE(store.has_value());
    core::WriteBatch batch;
    batch.put(core::Family::Baseline, "/old", "1");
    REQUIRE((*store)->write(batch).has_value());
  }
  std::filesystem::copy_file(copy, dir.str() + "/stale");
  {
    auto store = baseline::RocksDbStore::open(path);
    REQUIRE(store.has_value());
    core::WriteBatch batch;
    batch.put(core::Family::Baseline, "/new", "2");
    REQUIRE((*store)->write(batch).has_value());
  }
  // As if the last stop had not written its copy (a crash): the one left is older than the database.
  std::filesystem::copy_file(dir.str() + "/stale", copy, std::filesystem::copy_options::overwrite_existing);
  {
    auto store = baseline::RocksDbStore::open(path);
    REQUIRE(store.has_value());
    CHECK((*store)->scanCopyRecords() == 0);
    CHECK_FALSE(std::filesystem::exists(copy));
    CHECK(storeRecords(**store) == Records{{"/new", "2"}, {"/old", "1"}});
  }
  // Another database's copy, at the same sequence number, is not read either.
  testing::TempDir other;
  {
    auto store = baseline::RocksDbStore::open(other.str());
    REQUIRE(store.has_value());
    core::WriteBatch batch;
    batch.put(core::Family::Baseline, "/elsewhere", "x");
    batch.put(core::Family::Baseline, "/elsewhere2", "y");
    REQUIRE((*store)->write(batch).has_value());
  }
  std::filesystem::copy_file(other.str() + "/fimbeat-scan-copy", copy,
                             std::filesystem::copy_options::overwrite_existing);
  auto store = baseline::RocksDbStore::open(path);
  REQUIRE(store.has_value());
  CHECK((*store)->scanCopyRecords() == 0);
  CHECK(storeRecords(**store) == Records{{"/new", "2"}, {"/old", "1"}});
}
