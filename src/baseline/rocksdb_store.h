#pragma once
// RocksDbStore: the KvStore on RocksDB under path.data, one column family per core::Family.
// A clean stop also writes a ScanCopy of the baseline family into the database's directory;
// until the family is first written, its cursors read that copy.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "baseline/scan_copy.h"
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
  // For the baseline family: over the scan copy when it is the family's state (nothing written
  // to the family since open and the copy not released), else over RocksDB.
  [[nodiscard]] std::unique_ptr<core::KvCursor> cursor(core::Family family) override;
  void releaseScanCopy() override;
  // Records in the scan copy in use (0: none, or released).
  std::uint64_t scanCopyRecords();
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
  // Keeps the scan copy if it is the state just opened, else removes it.
  void useScanCopy(core::Result<std::shared_ptr<const ScanCopy>> copy);
  // On a clean stop: the copy renumbered (the family unchanged since a valid copy was opened) or
  // written afresh.
  void saveScanCopy();

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // index = core::Family, then "default" last
  std::string copyPath_;
  std::mutex copyMutex_;
  // Shared with the cursors reading it: a release or a write ends its use for new cursors, and
  // the mapping goes with the last cursor.
  std::shared_ptr<const ScanCopy> copy_;
  bool copyOpened_ = false;                 // a valid copy was mapped at open
  std::atomic<bool> baselineWritten_ = false;  // the family written since open
};

}  // namespace fim::baseline
