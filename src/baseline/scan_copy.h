#pragma once
// ScanCopy: a flat, uncompressed copy of the baseline family that a clean stop writes beside the
// database, so the next start's scan reads its records from one mapped file instead of through
// RocksDB's iterator (about a sixth of a second scan's CPU on an unchanged tree).
//
// The copy is trusted only when it is the database's own state: it records RocksDB's last
// sequence number and the database's identity, and both must match right after the database is
// opened, before anything is written. A write after the copy (a run that crashed, another
// version of fimbeat) moves the sequence number on, another or a restored database has another
// identity or sequence number, and the copy is then ignored and removed. Checksums cover the
// header and the records.
//
// Layout (core::BinaryWriter's little-endian integers and u32-prefixed strings):
//   header (64 bytes): "FIMBCOPY", version u32, 0 u32, sequence u64, count u64, payload size
//                      u64, payload checksum u64, identity checksum u64, header checksum u64
//   payload: count records (key str, value str) in key order, then count offsets u64 (each
//            record's, from the payload's start)

#include <sys/types.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/kv_store.h"
#include "core/result.h"

namespace fim::baseline {

class ScanCopy : public std::enable_shared_from_this<ScanCopy> {
 public:
  // Calls emit(key, value) for each record in key order; false stops it.
  using Source = std::function<core::Status(const std::function<bool(std::string_view, std::string_view)>& emit)>;

  // Writes the records from `source` to `path` (a new file renamed over the old one, synced).
  [[nodiscard]] static core::Status write(const std::string& path, std::uint64_t sequence, std::string_view identity,
                                          const Source& source);
  // Rewrites the header of the copy at `path` for a new sequence number (the records are the
  // same; other families were written).
  [[nodiscard]] static core::Status renumber(const std::string& path, std::uint64_t sequence);
  // Maps the copy at `path` and checks it whole; an error says why it cannot be read (no file,
  // damaged). Whether it is the database's state is for describes() to say.
  [[nodiscard]] static core::Result<std::shared_ptr<const ScanCopy>> open(const std::string& path);
  ~ScanCopy();
  ScanCopy(const ScanCopy&) = delete;
  ScanCopy& operator=(const ScanCopy&) = delete;

  std::uint64_t count() const { return count_; }
  // Whether the copy was written for the database with this identity at this sequence number.
  bool describes(std::uint64_t sequence, std::string_view identity) const;
  // A cursor over the records; it keeps the mapping alive.
  std::unique_ptr<core::KvCursor> cursor() const;
  // Gives the whole pages of the mapping within [from, to) back (read again if needed after all):
  // the copy's pages would otherwise all count in the agent's RSS by the end of a scan.
  void giveBack(const char* from, const char* to) const;
  // The same for the pages within `radius` bytes of `at`.
  void giveBackAround(const char* at, std::uintptr_t radius) const;

 private:
  friend class ScanCopyCursor;
  ScanCopy() = default;
  void giveBackRange(std::uintptr_t from, std::uintptr_t to) const;
  // The record at index i (the caller keeps i < count()); false when it lies out of bounds.
  bool at(std::uint64_t i, std::string_view& key, std::string_view& value) const;
  // Where index i's offset is stored (i <= count(): count() is just past the last).
  const char* offsetAt(std::uint64_t i) const { return payload_ + recordsSize_ + std::min(i, count_) * 8; }

  const char* map_ = nullptr;
  std::size_t mapSize_ = 0;
  const char* payload_ = nullptr;
  std::uint64_t count_ = 0;
  std::uint64_t recordsSize_ = 0;  // where the offsets start
  std::uint64_t sequence_ = 0, identityChecksum_ = 0;
};

}  // namespace fim::baseline
