#pragma once
// RocksDbStore: the KvStore on RocksDB under path.data, one column family per core::Family.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/kv_store.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace fim::baseline {

class RocksDbStore final : public core::KvStore {
 public:
  // Opens (creating if needed) the database in `directory`; a second fimbeat on the same
  // directory fails here with a message naming the lock.
  [[nodiscard]] static core::Result<std::unique_ptr<RocksDbStore>> open(const std::string& directory);
  ~RocksDbStore() override;

  [[nodiscard]] core::Result<std::optional<std::string>> get(core::Family family, std::string_view key) override;
  [[nodiscard]] core::Status write(const core::WriteBatch& batch) override;
  [[nodiscard]] core::Status scan(core::Family family, std::string_view prefix,
                                  const std::function<bool(std::string_view, std::string_view)>& visit) override;
  [[nodiscard]] std::unique_ptr<core::KvCursor> cursor(core::Family family) override;
  [[nodiscard]] core::Status scanFrom(core::Family family, std::string_view start,
                                      const std::function<bool(std::string_view, std::string_view)>& visit) override;
  [[nodiscard]] core::Result<std::optional<std::string>> lastKey(core::Family family) override;
  std::uint64_t approximateCount(core::Family family) override;

 private:
  RocksDbStore() = default;
  rocksdb::ColumnFamilyHandle* handle(core::Family family) const;
  // Merges a family's level-0 files into level 1 when there are two or more (on a clean stop),
  // waiting for RocksDB's own compactions until `deadline` at most.
  void compactLevel0(rocksdb::ColumnFamilyHandle* family, std::chrono::steady_clock::time_point deadline);
  void waitForCompactions(std::chrono::steady_clock::time_point deadline);

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // index = core::Family, then "default" last
};

}  // namespace fim::baseline
