#pragma once
// RocksDbStore: the KvStore on RocksDB under path.data, one column family per core::Family.

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "baseline/rocksdb_logger.h"
#include "core/kv_store.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace fim::baseline {

class RocksDbStore final : public core::KvStore {
 public:
  enum class Mode { ReadWrite, ReadOnly };
  // Opens (creating if needed, unless read-only) the database in `directory`. A second fimbeat on
  // the same directory fails here with a message naming the lock; a database RocksDB refuses,
  // with one naming the recovery (move it aside).
  [[nodiscard]] static core::Result<std::unique_ptr<RocksDbStore>> open(const std::string& directory,
                                                                        Mode mode = Mode::ReadWrite);
  // Releases the database without writing anything more (close() is the clean stop).
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
  // RocksDB stops taking writes after one failed (a full disk); this clears that once there is room.
  [[nodiscard]] core::Status resume() override;

  // Reads every block of every table file and checks its checksum (ErrorCode::Corrupt if one
  // fails): a damaged block is found at start, not when a change to a path it holds is lost.
  [[nodiscard]] core::Status verify();

  // The clean stop: memtables written to table files (the next start replays no log), then the
  // database closed. Nothing may be called after it.
  [[nodiscard]] core::Status close();

 private:
  RocksDbStore() = default;
  rocksdb::ColumnFamilyHandle* handle(core::Family family) const;
  void release();

  std::shared_ptr<RocksDbLogger> logger_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // the families opened, then "default" last
  std::array<rocksdb::ColumnFamilyHandle*, 4> byFamily_{};  // index = core::Family
};

}  // namespace fim::baseline
