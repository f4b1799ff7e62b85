#pragma once
// MemoryStore: an in-memory KvStore for tests, with an optional failure switch.

#include <atomic>
#include <map>
#include <memory>
#include <mutex>

#include "core/kv_store.h"

namespace fim::testing {

class MemoryStore final : public core::KvStore {
 public:
  core::Result<std::optional<std::string>> get(core::Family family, std::string_view key) override {
    std::lock_guard lock(mutex_);
    auto& data = data_[family];
    auto it = data.find(std::string(key));
    if (it == data.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }

  core::Status write(const core::WriteBatch& batch) override {
    std::lock_guard lock(mutex_);
    if (failWrites) return core::fail(core::ErrorCode::Io, "injected write failure", true);
    for (const auto& op : batch.ops()) {
      if (op.value) {
        data_[op.family][op.key] = *op.value;
      } else if (op.end) {
        auto& data = data_[op.family];
        data.erase(data.lower_bound(op.key), data.lower_bound(*op.end));
      } else {
        data_[op.family].erase(op.key);
      }
    }
    ++writes;
    return {};
  }

  core::Status resume() override {
    if (failWrites) return core::fail(core::ErrorCode::Io, "injected write failure", true);
    return {};
  }

  core::Status scan(core::Family family, std::string_view prefix,
                    const std::function<bool(std::string_view, std::string_view)>& visit) override {
    std::map<std::string, std::string> copy;
    {
      std::lock_guard lock(mutex_);
      copy = data_[family];
    }
    for (auto it = copy.lower_bound(std::string(prefix)); it != copy.end() && it->first.starts_with(prefix); ++it) {
      if (!visit(it->first, it->second)) break;
    }
    return {};
  }

  core::Status scanFrom(core::Family family, std::string_view start,
                        const std::function<bool(std::string_view, std::string_view)>& visit) override {
    std::map<std::string, std::string> copy;
    {
      std::lock_guard lock(mutex_);
      copy = data_[family];
    }
    for (auto it = copy.lower_bound(std::string(start)); it != copy.end(); ++it) {
      if (!visit(it->first, it->second)) break;
    }
    return {};
  }

  core::Result<std::optional<std::string>> lastKey(core::Family family) override {
    std::lock_guard lock(mutex_);
    auto& data = data_[family];
    if (data.empty()) return std::optional<std::string>();
    return std::optional<std::string>(data.rbegin()->first);
  }

  std::uint64_t approximateCount(core::Family family) override { return count(family); }
  core::Status close() override { return {}; }

  // Over a copy of the family taken now, like RocksDB's snapshot.
  std::unique_ptr<core::KvCursor> cursor(core::Family family) override {
    std::lock_guard lock(mutex_);
    return std::make_unique<MapCursor>(data_[family]);
  }

  // A cursor over a copy of a sorted map.
  class MapCursor final : public core::KvCursor {
   public:
    explicit MapCursor(std::map<std::string, std::string> data) : data_(std::move(data)), it_(data_.end()) {}
    void seek(std::string_view key) override { it_ = data_.lower_bound(std::string(key)); }
    void next() override { ++it_; }
    bool valid() const override { return it_ != data_.end(); }
    std::string_view key() const override { return it_->first; }
    std::string_view value() const override { return it_->second; }
    core::Status status() const override { return {}; }

   private:
    std::map<std::string, std::string> data_;
    std::map<std::string, std::string>::const_iterator it_;
  };


  std::size_t count(core::Family family) {
    std::lock_guard lock(mutex_);
    return data_[family].size();
  }

  // Writes (and resume(), as RocksDB's after a failed write) fail while set.
  std::atomic<bool> failWrites{false};
  int writes = 0;

 private:
  std::mutex mutex_;
  std::map<core::Family, std::map<std::string, std::string>> data_;
};

}  // namespace fim::testing
