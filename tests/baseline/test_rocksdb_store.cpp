#include <doctest/doctest.h>
#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/metadata.h>

#include <algorithm>
#include <memory>

#include "baseline/rocksdb_store.h"
#include "support/temp_dir.h"

using namespace fim;

TEST_CASE("rocksdb store: writes are atomic batches, scans are ordered by prefix, data survives reopening") {
  testing::TempDir dir;
  const std::string path = dir.str() + "/db";
  {
    auto store = baseline::RocksDbStore::open(path);
    REQUIRE(store.has_value());
    core::WriteBatch batch;
    batch.put(core::Family::Baseline, "/a", "root");
    batch.put(core::Family::Baseline, "/a/x", "1");
    batch.put(core::Family::Baseline, "/ab", "other root");
    batch.put(core::Family::Baseline, "/a/y", "2");
    batch.put(core::Family::Meta, "/a/x", "meta is separate");
    REQUIRE((*store)->write(batch).has_value());
    core::WriteBatch removal;
    removal.remove(core::Family::Baseline, "/a/y");
    REQUIRE((*store)->write(removal).has_value());
  }
  auto store = baseline::RocksDbStore::open(path);
  REQUIRE(store.has_value());
  auto value = (*store)->get(core::Family::Baseline, "/a/x");
  REQUIRE(value.has_value());
  CHECK(**value == "1");
  CHECK_FALSE((*store)->get(core::Family::Baseline, "/a/y")->has_value());
  CHECK(**(*store)->get(core::Family::Meta, "/a/x") == "meta is separate");
  std::vector<std::string> keys;
  REQUIRE((*store)->scan(core::Family::Baseline, "/a/", [&](std::string_view k, std::string_view) {
    keys.emplace_back(k);
    return true;
  }).has_value());
  CHECK(keys == std::vector<std::string>{"/a/x"});
}

TEST_CASE("rocksdb store: a second agent on the same data directory is refused with a clear message") {
  testing::TempDir dir;
  auto first = baseline::RocksDbStore::open(dir.str());
  REQUIRE(first.has_value());
  auto second = baseline::RocksDbStore::open(dir.str());
  REQUIRE_FALSE(second.has_value());
  CHECK(second.error().message().find("another fimbeat") != std::string::npos);
}

TEST_CASE("rocksdb store: a cursor reads forward in key order from a seek, from the snapshot taken when it was made") {
  testing::TempDir dir;
  auto store = baseline::RocksDbStore::open(dir.str());
  REQUIRE(store.has_value());
  core::WriteBatch batch;
  for (const char* key : {"/a", "/a/sub", "/a/sub/deep", "/a/sub-x", "/a/x", "/ab/z", "/b"}) {
    batch.put(core::Family::Baseline, key, std::string("v") + key);
  }
  REQUIRE((*store)->write(batch).has_value());
  auto cursor = (*store)->cursor(core::Family::Baseline);
  core::WriteBatch later;
  later.put(core::Family::Baseline, "/a/new", "v");
  later.remove(core::Family::Baseline, "/a/x");
  REQUIRE((*store)->write(later).has_value());

  std::vector<std::string> keys;
  for (cursor->seek("/a/"); cursor->valid(); cursor->next()) {
    keys.emplace_back(cursor->key());
    CHECK(cursor->value() == "v" + keys.back());
  }
  CHECK(cursor->status().has_value());
  CHECK(keys == std::vector<std::string>{"/a/sub", "/a/sub-x", "/a/sub/deep", "/a/x", "/ab/z", "/b"});
  cursor->seek("/a/sub0");  // past everything below "/a/sub/"
  REQUIRE(cursor->valid());
  CHECK(cursor->key() == "/a/x");
  cursor->seek("/c");
  CHECK_FALSE(cursor->valid());
  auto fresh = (*store)->cursor(core::Family::Baseline);
  fresh->seek("/a/n");
  REQUIRE(fresh->valid());
  CHECK(fresh->key() == "/a/new");
}

TEST_CASE("rocksdb store: close() writes the memtables to table files, so the next open replays no log") {
  testing::TempDir dir;
  const std::string path = dir.str() + "/db";
  {
    auto store = baseline::RocksDbStore::open(path);
    REQUIRE(store.has_value());
    core::WriteBatch batch;
    for (int i = 0; i < 100; ++i) batch.put(core::Family::Baseline, fmt::format("/r/f{:03}", i), "v");
    REQUIRE((*store)->write(batch).has_value());
    REQUIRE((*store)->close().has_value());
    CHECK((*store)->close().has_value());  // a second close has nothing left to do
  }
  std::vector<std::string> names;
  REQUIRE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const auto& name : names) families.emplace_back(name, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  REQUIRE(rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), path, families, &handles, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  std::vector<rocksdb::LiveFileMetaData> files;
  db->GetLiveFilesMetaData(&files);
  std::uint64_t entries = 0;
  for (const auto& f : files) {
    if (f.column_family_name == "baseline") entries += f.num_entries;
  }
  CHECK(entries == 100);
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
}
