#pragma once
// BinaryWriter / BinaryReader: the little-endian, length-prefixed encoding of stored values
// (baseline records, queued events). A reader never throws: a short input clears ok().

#include <bit>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace fim::core {

class BinaryWriter {
 public:
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v) { fixed(v); }
  void u64(std::uint64_t v) { fixed(v); }
  void i64(std::int64_t v) { fixed(static_cast<std::uint64_t>(v)); }
  void str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    out_.append(s);
  }
  void optStr(const std::optional<std::string>& s) {
    u8(s ? 1 : 0);
    if (s) str(*s);
  }
  void time(TimePoint t) { i64(std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count()); }
  std::string take() { return std::move(out_); }

 private:
  template <typename T>
  void fixed(T v) {
    for (std::size_t i = 0; i < sizeof(T); ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::string out_;
};

class BinaryReader {
 public:
  explicit BinaryReader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool atEnd() const { return in_.empty(); }
  std::uint8_t u8() { return fixed<std::uint8_t>(); }
  std::uint32_t u32() { return fixed<std::uint32_t>(); }
  std::uint64_t u64() { return fixed<std::uint64_t>(); }
  std::int64_t i64() { return static_cast<std::int64_t>(fixed<std::uint64_t>()); }
  std::string str() {
    const std::uint32_t n = u32();
    if (!ok_ || in_.size() < n) {
      ok_ = false;
      return {};
    }
    std::string s(in_.substr(0, n));
    in_.remove_prefix(n);
    return s;
  }
  std::optional<std::string> optStr() {
    if (u8() == 0) return std::nullopt;
    return str();
  }
  // A string read in place: valid as long as the input is.
  std::string_view strView() {
    const std::uint32_t n = u32();
    if (!ok_ || in_.size() < n) {
      ok_ = false;
      return {};
    }
    const std::string_view s = in_.substr(0, n);
    in_.remove_prefix(n);
    return s;
  }
  // Whether an optional string is present; it is skipped.
  bool skipOptStr() {
    if (u8() == 0) return false;
    (void)strView();
    return true;
  }
  TimePoint time() {
    return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::nanoseconds(i64())));
  }

 private:
  template <typename T>
  T fixed() {
    if (!ok_ || in_.size() < sizeof(T)) {
      ok_ = false;
      return 0;
    }
    T v = 0;
    if constexpr (std::endian::native == std::endian::little) {
      std::memcpy(&v, in_.data(), sizeof(T));  // the format is little-endian: one load
    } else {
      for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(static_cast<std::uint8_t>(in_[i])) << (8 * i);
    }
    in_.remove_prefix(sizeof(T));
    return v;
  }
  std::string_view in_;
  bool ok_ = true;
};

}  // namespace fim::core
