#pragma once
// KvStore: the ordered key-value store behind the baseline (and later the event queue).
// Production passes the RocksDB store; tests pass an in-memory one.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace fim::core {

// Column families; keys sort bytewise within each.
// Content: the last content of each diffed file (baseline/content_store.h).
enum class Family { Baseline, Meta, Queue, Content };

// The family's name ("baseline", "meta", "queue", "content"): RocksDB's column family, and in messages.
inline const char* toString(Family family) {
  switch (family) {
    case Family::Baseline: return "baseline";
    case Family::Meta: return "meta";
    case Family::Queue: return "queue";
    case Family::Content: return "content";
  }
  return "?";
}

class WriteBatch {
 public:
  struct Op {
    Family family;
    std::string key;
    std::optional<std::string> value;  // nullopt = delete
    std::optional<std::string> end;    // set: delete every key in [key, end)
  };

  void put(Family family, std::string key, std::string value) {
    ops_.push_back(Op{family, std::move(key), std::move(value)});
  }
  void remove(Family family, std::string key) { ops_.push_back(Op{family, std::move(key), std::nullopt}); }
  void removeRange(Family family, std::string begin, std::string end) {
    ops_.push_back(Op{family, std::move(begin), std::nullopt, std::move(end)});
  }
  const std::vector<Op>& ops() const { return ops_; }
  bool empty() const { return ops_.empty(); }
  std::size_t size() const { return ops_.size(); }
  void clear() { ops_.clear(); }

 private:
  std::vector<Op> ops_;
};

// A forward cursor over one family, in key order, reading the snapshot taken when it was made:
// what is written later is not seen. key() and value() stay valid until the next move.
class KvCursor {
 public:
  virtual ~KvCursor() = default;
  virtual void seek(std::string_view key) = 0;  // to the first key >= key
  virtual void next() = 0;
  virtual bool valid() const = 0;  // false past the end or after an error (see status)
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
  [[nodiscard]] virtual Status status() const = 0;
};

class KvStore {
 public:
  virtual ~KvStore() = default;

  [[nodiscard]] virtual Result<std::optional<std::string>> get(Family family, std::string_view key) = 0;
  // Applies every operation of the batch atomically.
  [[nodiscard]] virtual Status write(const WriteBatch& batch) = 0;
  // Calls visit(key, value) for each key starting with prefix, in key order, until it returns false.
  [[nodiscard]] virtual Status scan(Family family, std::string_view prefix,
                                    const std::function<bool(std::string_view, std::string_view)>& visit) = 0;
  // A cursor over the family, not yet positioned (seek first).
  [[nodiscard]] virtual std::unique_ptr<KvCursor> cursor(Family family) = 0;
  // Calls visit(key, value) for each key >= start, in key order, until it returns false.
  [[nodiscard]] virtual Status scanFrom(Family family, std::string_view start,
                                        const std::function<bool(std::string_view, std::string_view)>& visit) = 0;
  // The greatest key of the family, if any.
  [[nodiscard]] virtual Result<std::optional<std::string>> lastKey(Family family) = 0;
  // About how many keys the family holds (cheap; for progress estimates only).
  virtual std::uint64_t approximateCount(Family family) = 0;
  // After a write failed (a full disk): asks the store to take writes again. Fails while it cannot.
  [[nodiscard]] virtual Status resume() { return {}; }
  // The clean stop: whatever the store keeps in memory is made durable. Nothing is called after it.
  [[nodiscard]] virtual Status close() = 0;
};

}  // namespace fim::core
