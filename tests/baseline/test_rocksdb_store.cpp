#include <doctest/doctest.h>

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

TEST_CASE("rocksdb store: scanChildren visits a directory's direct children only, skipping subtrees") {
  testing::TempDir dir;
  auto store = baseline::RocksDbStore::open(dir.str());
  REQUIRE(store.has_value());
  core::WriteBatch batch;
  for (const char* key : {"/a", "/a/sub", "/a/sub/deep", "/a/sub/deep/er", "/a/sub-x", "/a/x", "/a/y", "/ab/z", "/b"}) {
    batch.put(core::Family::Baseline, key, "v");
  }
  REQUIRE((*store)->write(batch).has_value());
  std::vector<std::string> keys;
  REQUIRE((*store)->scanChildren(core::Family::Baseline, "/a", [&](std::string_view k, std::string_view) {
    keys.emplace_back(k);
    return true;
  }).has_value());
  CHECK(keys == std::vector<std::string>{"/a/sub", "/a/sub-x", "/a/x", "/a/y"});
  keys.clear();
  REQUIRE((*store)->scanChildren(core::Family::Baseline, "/", [&](std::string_view k, std::string_view) {
    keys.emplace_back(k);
    return true;
  }).has_value());
  CHECK(keys == std::vector<std::string>{"/a", "/b"});  // "/ab/z" lies below "/ab", which has no record
}
