#pragma once
// ContentStore: the last content of each diffed file (diff.enabled), compressed with zlib, in the
// store's own column family "content". Its writes go into the baseline's WriteBatch: a file's
// content, its record and its event become durable together or not at all.
//
// Keys (format 1, recorded under the meta key "content_format"):
//   "p" + path            → u8 1, u64 age, u32 length of the text, the zlib stream
//   "a" + u64 age (big-endian: key order is storage order) → u32 stored size, path
// The total stored (the values' sizes) stays under max_storage: the oldest copies go first.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "core/kv_store.h"
#include "core/metrics.h"
#include "core/result.h"

namespace fim::baseline {

inline constexpr std::uint32_t kContentFormat = 1;
inline constexpr const char* kContentFormatKey = "content_format";

class ContentStore {
 public:
  ContentStore(core::KvStore& store, std::uint64_t maxStorage, core::Metrics& metrics);

  // Reads the format (a newer one, or none with copies present, drops every copy: they are only
  // the base of the next diff), the total stored and the next age. Copies of paths `keep` refuses
  // (their module no longer diffs them) are dropped.
  [[nodiscard]] core::Status open(const std::function<bool(std::string_view path)>& keep);

  struct Stored {
    std::string text;
    std::uint64_t age = 0;
    std::uint32_t size = 0;  // bytes stored (the value)
  };
  // The last content stored for `path`, if any. A copy that cannot be decoded counts as none.
  [[nodiscard]] core::Result<std::optional<Stored>> load(std::string_view path);

  // Stages `text` as the content of `path` in `batch` (replacing `previous`, as load() gave it),
  // making room by dropping the oldest copies. A copy larger than the whole storage is not kept.
  void put(core::WriteBatch& batch, std::string_view path, std::string_view text, const std::optional<Stored>& previous);
  // Stages the removal of what load() gave for `path`.
  void remove(core::WriteBatch& batch, std::string_view path, const Stored& previous);
  // Stages the removal of the copy of `path` and of every path under it (a deleted directory).
  [[nodiscard]] core::Status removeTree(core::WriteBatch& batch, std::string_view path);
  // Moves the copies of `from` and of the paths under it to `to`.
  [[nodiscard]] core::Status moveTree(core::WriteBatch& batch, std::string_view from, std::string_view to);

  // The baseline wrote (or dropped) the batch: what it staged is in the store now, or never will be.
  void written() { droppedAges_.clear(); }

  std::uint64_t storedBytes() const { return total_; }

 private:
  void makeRoom(core::WriteBatch& batch, std::uint64_t needed);
  void stage(core::WriteBatch& batch, const std::string& path, std::string value, std::uint64_t age,
             std::uint32_t size);

  core::KvStore& store_;
  std::uint64_t maxStorage_;
  std::uint64_t total_ = 0;
  std::uint64_t nextAge_ = 1;
  std::unordered_set<std::uint64_t> droppedAges_;  // removed in the batch not yet written
  core::Gauge& bytes_;
  core::Counter& evicted_;
  core::Counter& tooLarge_;
};

// zlib, for the content family (exposed for tests).
std::string compressText(std::string_view text);
[[nodiscard]] core::Result<std::string> decompressText(std::string_view stream, std::uint32_t length);

}  // namespace fim::baseline
