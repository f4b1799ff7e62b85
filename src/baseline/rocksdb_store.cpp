#include "baseline/rocksdb_store.h"

#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

#include "core/logging.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/metadata.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

namespace fim::baseline {
namespace {

const char* familyName(core::Family family) {
  switch (family) {
    case core::Family::Baseline: return "baseline";
    case core::Family::Meta: return "meta";
    case core::Family::Queue: return "queue";
  }
  return "default";
}

core::Error storeError(const std::string& what, const rocksdb::Status& status) {
  const bool retryable = status.IsBusy() || status.IsTimedOut() || status.IsTryAgain() || status.IsNoSpace();
  return core::Error(status.IsIOError() ? core::ErrorCode::Io : core::ErrorCode::Internal,
                     what + ": " + status.ToString(), retryable);
}

rocksdb::Slice slice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

}  // namespace

core::Result<std::unique_ptr<RocksDbStore>> RocksDbStore::open(const std::string& directory) {
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) return core::failf(core::ErrorCode::Io, "cannot create {}: {}", directory, ec.message());
  std::filesystem::permissions(directory, std::filesystem::perms::owner_all, ec);

  rocksdb::Options options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.max_open_files = 64;       // keep the agent's descriptor use small
  options.keep_log_file_num = 2;
  options.max_background_jobs = 1;
  // Its few table files are opened by the opening thread: the default starts 16 threads for
  // that at every open, which cost about 5 ms of each start.
  options.max_file_opening_threads = 1;
  // RocksDB's own LOG at INFO rewrites ~65 KB of option dumps and flush notes at every open
  // (about 7 ms of each start); warnings and errors still go there.
  options.info_log_level = rocksdb::WARN_LEVEL;
  options.write_buffer_size = 4 << 20;
  rocksdb::ColumnFamilyOptions family;
  family.write_buffer_size = 4 << 20;
  family.max_write_buffer_number = 2;
  // LZ4 in 8 KiB blocks: as small on disk as Snappy (the default) for these records, and a
  // directory's records read back in half the time (Debian's Snappy decodes slowly).
  family.compression = rocksdb::kLZ4Compression;
  rocksdb::BlockBasedTableOptions table;
  table.block_size = 8 << 10;
  table.block_cache = rocksdb::NewLRUCache(8 << 20);  // the agent's memory stays small and bounded
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));  // lookups of new paths skip the files
  family.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  // Queue entries live only until delivered: small memtables keep the agent's memory small while
  // a scan queues tens of thousands of events.
  rocksdb::ColumnFamilyOptions queueFamily = family;
  queueFamily.write_buffer_size = 1 << 20;
  for (auto f : {core::Family::Baseline, core::Family::Meta, core::Family::Queue}) {
    descriptors.emplace_back(familyName(f), f == core::Family::Queue ? queueFamily : family);
  }
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, family);

  auto store = std::unique_ptr<RocksDbStore>(new RocksDbStore());
  store->copyPath_ = directory + "/fimbeat-scan-copy";
  // Checked on another core while RocksDB opens; whether it is the state opened is known after.
  auto copy = std::async(std::launch::async, [path = store->copyPath_] { return ScanCopy::open(path); });
  rocksdb::DB* db = nullptr;
  auto status = rocksdb::DB::Open(options, directory, descriptors, &store->handles_, &db);
  if (!status.ok()) {
    return std::unexpected(storeError("cannot open the fimbeat database in " + directory +
                                          " (is another fimbeat running with this path.data?)",
                                      status));
  }
  store->db_.reset(db);
  store->useScanCopy(copy.get());
  return store;
}

void RocksDbStore::useScanCopy(core::Result<std::shared_ptr<const ScanCopy>> copy) {
  std::string identity;
  (void)db_->GetDbIdentity(identity);
  if (copy && !(*copy)->describes(db_->GetLatestSequenceNumber(), identity)) {
    copy = core::fail(core::ErrorCode::Internal, "written for another state of the database");
  }
  if (!copy) {
    // Absent, damaged or not this state of the database: never read, and gone so it cannot mislead.
    if (std::error_code ec; std::filesystem::remove(copyPath_, ec)) {
      core::logger("baseline").debug("scan copy not used: {}", copy.error().message());
    }
    return;
  }
  core::logger("baseline").debug("the scan reads the baseline's copy from the last clean stop: {} records",
                                  (*copy)->count());
  copy_ = std::move(*copy);
  copyOpened_ = true;
}

void RocksDbStore::saveScanCopy() {
  std::string identity;
  (void)db_->GetDbIdentity(identity);
  const auto sequence = db_->GetLatestSequenceNumber();
  core::Status saved;
  if (copyOpened_ && !baselineWritten_) {
    saved = ScanCopy::renumber(copyPath_, sequence);
  } else {
    saved = ScanCopy::write(copyPath_, sequence, identity,
                            [&](const auto& emit) { return scanFrom(core::Family::Baseline, "", emit); });
  }
  if (!saved) {
    // The next start reads RocksDB itself: slower, never wrong.
    core::logger("baseline").warn("the baseline's scan copy was not saved: {}", saved.error().message());
    std::error_code ec;
    std::filesystem::remove(copyPath_, ec);
  }
}

RocksDbStore::~RocksDbStore() {
  if (!db_) return;
  // Memtables to disk on a clean stop, so the next start does not replay the whole log.
  for (auto* h : handles_) (void)db_->Flush(rocksdb::FlushOptions(), h);
  // Level-0 files merged into level 1, so the next start's scan reads each directory's records
  // from one sorted run (not one per level-0 file) and no compaction competes with it for the
  // CPU. A first scan leaves several; this costs about what RocksDB's own level-0 compaction
  // would at the next start, and is bounded by level 1's size.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);  // a stop must not hang
  for (auto* h : handles_) compactLevel0(h, deadline);
  releaseScanCopy();
  saveScanCopy();
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  db_->Close();
}

void RocksDbStore::compactLevel0(rocksdb::ColumnFamilyHandle* family, std::chrono::steady_clock::time_point deadline) {
  constexpr int kAttempts = 3;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    waitForCompactions(deadline);  // a compaction RocksDB started itself holds its files
    rocksdb::ColumnFamilyMetaData meta;
    db_->GetColumnFamilyMetaData(family, &meta);
    if (meta.levels.empty() || meta.levels[0].files.size() < 2) return;
    std::vector<std::string> files;
    for (const auto& f : meta.levels[0].files) files.push_back(f.name);
    rocksdb::CompactionOptions options;
    options.compression = rocksdb::kDisableCompressionOption;  // the family's LZ4, not CompactFiles' Snappy default
    if (db_->CompactFiles(options, family, files, 1).ok()) return;
  }
}

void RocksDbStore::waitForCompactions(std::chrono::steady_clock::time_point deadline) {
  constexpr auto kPoll = std::chrono::milliseconds(10);
  std::uint64_t running = 0;
  while (std::chrono::steady_clock::now() < deadline &&
         db_->GetIntProperty(rocksdb::DB::Properties::kNumRunningCompactions, &running) && running > 0) {
    std::this_thread::sleep_for(kPoll);
  }
}

rocksdb::ColumnFamilyHandle* RocksDbStore::handle(core::Family family) const {
  return handles_[static_cast<std::size_t>(family)];
}

core::Result<std::optional<std::string>> RocksDbStore::get(core::Family family, std::string_view key) {
  std::string value;
  auto status = db_->Get(rocksdb::ReadOptions(), handle(family), slice(key), &value);
  if (status.IsNotFound()) return std::optional<std::string>();
  if (!status.ok()) return std::unexpected(storeError("reading the baseline", status));
  return std::optional<std::string>(std::move(value));
}

core::Status RocksDbStore::write(const core::WriteBatch& batch) {
  rocksdb::WriteBatch rb;
  for (const auto& op : batch.ops()) {
    if (op.family == core::Family::Baseline && !baselineWritten_.load(std::memory_order_relaxed) &&
        !baselineWritten_.exchange(true)) {
      releaseScanCopy();  // cursors made from now on read RocksDB, and see this write
    }
    if (op.value) {
      rb.Put(handle(op.family), op.key, *op.value);
    } else if (op.end) {
      rb.DeleteRange(handle(op.family), op.key, *op.end);
    } else {
      rb.Delete(handle(op.family), op.key);
    }
  }
  auto status = db_->Write(rocksdb::WriteOptions(), &rb);
  if (!status.ok()) return std::unexpected(storeError("writing the baseline", status));
  return {};
}

core::Status RocksDbStore::scan(core::Family family, std::string_view prefix,
                                const std::function<bool(std::string_view, std::string_view)>& visit) {
  rocksdb::ReadOptions read;
  read.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, handle(family)));
  for (it->Seek(slice(prefix)); it->Valid(); it->Next()) {
    const auto key = it->key();
    if (!key.starts_with(slice(prefix))) break;
    if (!visit(std::string_view(key.data(), key.size()), std::string_view(it->value().data(), it->value().size()))) break;
  }
  if (!it->status().ok()) return std::unexpected(storeError("scanning the baseline", it->status()));
  return {};
}

namespace {

class RocksDbCursor final : public core::KvCursor {
 public:
  explicit RocksDbCursor(rocksdb::Iterator* it) : it_(it) {}
  void seek(std::string_view key) override { it_->Seek(slice(key)); }
  void next() override { it_->Next(); }
  bool valid() const override { return it_->Valid(); }
  std::string_view key() const override { return std::string_view(it_->key().data(), it_->key().size()); }
  std::string_view value() const override { return std::string_view(it_->value().data(), it_->value().size()); }
  core::Status status() const override {
    if (!it_->status().ok()) return std::unexpected(storeError("reading the baseline", it_->status()));
    return {};
  }

 private:
  std::unique_ptr<rocksdb::Iterator> it_;
};

}  // namespace

std::unique_ptr<core::KvCursor> RocksDbStore::cursor(core::Family family) {
  if (family == core::Family::Baseline) {
    std::lock_guard lock(copyMutex_);
    if (copy_) return copy_->cursor();
  }
  rocksdb::ReadOptions read;
  read.fill_cache = false;  // one pass: the cache stays for the lookups
  return std::make_unique<RocksDbCursor>(db_->NewIterator(read, handle(family)));
}

void RocksDbStore::releaseScanCopy() {
  std::lock_guard lock(copyMutex_);
  copy_.reset();
}

std::uint64_t RocksDbStore::scanCopyRecords() {
  std::lock_guard lock(copyMutex_);
  return copy_ ? copy_->count() : 0;
}

core::Status RocksDbStore::scanFrom(core::Family family, std::string_view start,
                                    const std::function<bool(std::string_view, std::string_view)>& visit) {
  rocksdb::ReadOptions read;
  read.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, handle(family)));
  for (it->Seek(slice(start)); it->Valid(); it->Next()) {
    if (!visit(std::string_view(it->key().data(), it->key().size()),
               std::string_view(it->value().data(), it->value().size()))) {
      break;
    }
  }
  if (!it->status().ok()) return std::unexpected(storeError("reading the store", it->status()));
  return {};
}

core::Result<std::optional<std::string>> RocksDbStore::lastKey(core::Family family) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handle(family)));
  it->SeekToLast();
  if (!it->status().ok()) return std::unexpected(storeError("reading the store", it->status()));
  if (!it->Valid()) return std::optional<std::string>();
  return std::optional<std::string>(it->key().ToString());
}

std::uint64_t RocksDbStore::approximateCount(core::Family family) {
  std::uint64_t keys = 0;
  db_->GetIntProperty(handle(family), "rocksdb.estimate-num-keys", &keys);
  return keys;
}

}  // namespace fim::baseline
