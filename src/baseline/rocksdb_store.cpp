#include "baseline/rocksdb_store.h"

#include <algorithm>

#include <filesystem>

#include "core/logging.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/sst_file_manager.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

namespace fim::baseline {
namespace {

core::Error storeError(const std::string& what, const rocksdb::Status& status) {
  const bool retryable = status.IsBusy() || status.IsTimedOut() || status.IsTryAgain() || status.IsNoSpace();
  const auto code = status.IsCorruption() ? core::ErrorCode::Corrupt
                    : status.IsIOError()  ? core::ErrorCode::Io
                                          : core::ErrorCode::Internal;
  return core::Error(code, what + ": " + status.ToString(), retryable);
}

rocksdb::Slice slice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

// Why RocksDB refused to open the database, and what the user can do about it.
core::Error openError(const std::string& directory, const rocksdb::Status& status) {
  const std::string said = status.ToString();
  if (status.IsIOError() && said.find("lock") != std::string::npos) {
    return core::Error(core::ErrorCode::Unavailable,
                       "cannot open the fimbeat database in " + directory +
                           ": another fimbeat is running with this path.data (it holds the database's lock): " + said);
  }
  core::Error error = storeError("cannot open the fimbeat database in " + directory, status);
  if (status.IsCorruption() || status.IsInvalidArgument() || status.IsNotSupported()) {
    return core::Error(error.code(), error.message() +
                                         ". Move fimbeat.db aside (keep it for forensics) to rebuild the baseline: "
                                         "fimbeat then starts a new one with a full scan");
  }
  return error;
}

}  // namespace

core::Result<std::unique_ptr<RocksDbStore>> RocksDbStore::open(const std::string& directory, Mode mode) {
  std::error_code ec;
  if (mode == Mode::ReadWrite) {
    std::filesystem::create_directories(directory, ec);
    if (ec) return core::failf(core::ErrorCode::Io, "cannot create {}: {}", directory, ec.message());
    std::filesystem::permissions(directory, std::filesystem::perms::owner_all, ec);
  }

  rocksdb::Options options;
  options.create_if_missing = mode == Mode::ReadWrite;
  options.create_missing_column_families = mode == Mode::ReadWrite;
  options.max_open_files = 64;       // keep the agent's descriptor use small
  options.max_background_jobs = 1;
  auto logger = std::make_shared<RocksDbLogger>();  // warnings and errors to fimbeat's log, no LOG file
  options.info_log = logger;
  options.info_log_level = rocksdb::WARN_LEVEL;
  // No preallocation: the database takes only the space it fills, so queue.min_free can act
  // before the disk is full, and a nearly full disk does not refuse the open.
  options.allow_fallocate = false;
  options.manifest_preallocation_size = 64 << 10;
  // With a file manager RocksDB recovers by itself from a write that failed on a full disk.
  options.sst_file_manager.reset(rocksdb::NewSstFileManager(rocksdb::Env::Default(), logger));
  options.writable_file_max_buffer_size = 256 << 10;
  options.write_buffer_size = 4 << 20;
  rocksdb::ColumnFamilyOptions family;
  family.write_buffer_size = 2 << 20;
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
  // Read only (a damaged database being salvaged): the families it has. One written by an older
  // fimbeat lacks the newer ones; they read as the empty default family.
  std::vector<std::string> present;
  if (mode == Mode::ReadOnly) (void)rocksdb::DB::ListColumnFamilies(options, directory, &present);
  const auto has = [&](const char* name) {
    return mode == Mode::ReadWrite || std::find(present.begin(), present.end(), name) != present.end();
  };
  std::vector<core::Family> opened;
  for (auto f : {core::Family::Baseline, core::Family::Meta, core::Family::Queue, core::Family::Content}) {
    if (!has(core::toString(f))) continue;
    descriptors.emplace_back(core::toString(f), f == core::Family::Queue ? queueFamily : family);
    opened.push_back(f);
  }
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, family);

  auto store = std::unique_ptr<RocksDbStore>(new RocksDbStore());
  rocksdb::DB* db = nullptr;
  auto status = mode == Mode::ReadWrite
                    ? rocksdb::DB::Open(options, directory, descriptors, &store->handles_, &db)
                    : rocksdb::DB::OpenForReadOnly(options, directory, descriptors, &store->handles_, &db);
  if (status.ok()) {
    store->byFamily_.fill(store->handles_.back());
    for (std::size_t i = 0; i < opened.size(); ++i) store->byFamily_[static_cast<std::size_t>(opened[i])] = store->handles_[i];
  }
  if (!status.ok()) return std::unexpected(openError(directory, status));
  store->db_.reset(db);
  store->logger_ = std::move(logger);
  if (const auto dropped = store->logger_->droppedWalBytes(); dropped > 0) {
    core::logger("database").warn(
        "the write-ahead log was damaged (a crash or a failing disk): RocksDB dropped {} bytes of it while "
        "recovering; the changes they held are reported again by this start's scan",
        dropped);
  }
  return store;
}

core::Status RocksDbStore::close() {
  if (!db_) return {};
  core::Status result;
  rocksdb::FlushOptions flush;
  for (auto* h : handles_) {
    if (auto status = db_->Flush(flush, h); !status.ok() && result) {
      result = std::unexpected(storeError("flushing the database", status));
    }
  }
  release();
  return result;
}

void RocksDbStore::release() {
  if (!db_) return;
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  handles_.clear();
  (void)db_->Close();  // nothing is left to write: what Close() could report is already known
  db_.reset();
}

RocksDbStore::~RocksDbStore() { release(); }

rocksdb::ColumnFamilyHandle* RocksDbStore::handle(core::Family family) const {
  return byFamily_[static_cast<std::size_t>(family)];
}

core::Status RocksDbStore::resume() {
  if (auto status = db_->Resume(); !status.ok()) return std::unexpected(storeError("resuming the database", status));
  return {};
}

core::Status RocksDbStore::verify() {
  if (auto status = db_->VerifyChecksum(); !status.ok()) {
    return std::unexpected(storeError("verifying the database's checksums", status));
  }
  return {};
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
  rocksdb::ReadOptions read;
  read.fill_cache = false;  // one pass: the cache stays for the lookups
  return std::make_unique<RocksDbCursor>(db_->NewIterator(read, handle(family)));
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
