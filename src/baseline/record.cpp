#include "baseline/record.h"

#include <cstring>

namespace fim::baseline {
namespace {

// Little-endian fixed-width fields; strings are a u32 length then the bytes.
class Writer {
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
  void time(core::TimePoint t) {
    i64(std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
  }
  std::string take() { return std::move(out_); }

 private:
  template <typename T>
  void fixed(T v) {
    for (std::size_t i = 0; i < sizeof(T); ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  std::uint8_t u8() { return static_cast<std::uint8_t>(fixed<std::uint8_t>()); }
  std::uint32_t u32() { return fixed<std::uint32_t>(); }
  std::uint64_t u64() { return fixed<std::uint64_t>(); }
  std::int64_t i64() { return static_cast<std::int64_t>(fixed<std::uint64_t>()); }
  std::string str() {
    const std::uint32_t n = u32();
    if (!ok_ || in_.size() < n) return fail();
    std::string s(in_.substr(0, n));
    in_.remove_prefix(n);
    return s;
  }
  std::optional<std::string> optStr() {
    if (u8() == 0) return std::nullopt;
    return str();
  }
  core::TimePoint time() {
    return core::TimePoint(std::chrono::duration_cast<core::TimePoint::duration>(std::chrono::nanoseconds(i64())));
  }

 private:
  std::string fail() {
    ok_ = false;
    return {};
  }
  template <typename T>
  T fixed() {
    if (!ok_ || in_.size() < sizeof(T)) {
      ok_ = false;
      return 0;
    }
    T v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(static_cast<std::uint8_t>(in_[i])) << (8 * i);
    in_.remove_prefix(sizeof(T));
    return v;
  }
  std::string_view in_;
  bool ok_ = true;
};

}  // namespace

std::string encodeRecord(const Record& r) {
  const core::FileInfo& f = r.info;
  Writer w;
  w.u8(kRecordVersion);
  w.u8(static_cast<std::uint8_t>(f.type));
  w.u8(f.size ? 1 : 0);
  w.u64(f.size.value_or(0));
  w.u64(f.inode);
  w.u64(f.device);
  w.u32(f.uid);
  w.u32(f.gid);
  w.str(f.owner);
  w.str(f.group);
  w.u32(f.mode);
  w.u8(static_cast<std::uint8_t>((f.setuid ? 1 : 0) | (f.setgid ? 2 : 0)));
  w.time(f.mtime);
  w.time(f.ctime);
  w.optStr(f.targetPath);
  w.optStr(f.mimeType);
  w.optStr(f.selinux);
  w.optStr(f.acl);
  w.u8(static_cast<std::uint8_t>(f.hashes.size()));
  for (const auto& [type, hex] : f.hashes) {
    w.u8(static_cast<std::uint8_t>(type));
    w.str(hex);
  }
  w.time(r.seenAt);
  w.u64(r.scanId);
  return w.take();
}

core::Result<Record> decodeRecord(std::string_view path, std::string_view bytes) {
  Reader in(bytes);
  const std::uint8_t version = in.u8();
  if (in.ok() && version != kRecordVersion) {
    return core::failf(core::ErrorCode::Parse, "baseline record of {} has version {}, this fimbeat reads version {}",
                       std::string(path), version, kRecordVersion);
  }
  Record r;
  core::FileInfo& f = r.info;
  f.path = std::string(path);
  f.type = static_cast<core::FileType>(in.u8());
  const bool hasSize = in.u8() != 0;
  const std::uint64_t size = in.u64();
  if (hasSize) f.size = size;
  f.inode = in.u64();
  f.device = in.u64();
  f.uid = in.u32();
  f.gid = in.u32();
  f.owner = in.str();
  f.group = in.str();
  f.mode = in.u32();
  const std::uint8_t flags = in.u8();
  f.setuid = flags & 1;
  f.setgid = flags & 2;
  f.mtime = in.time();
  f.ctime = in.time();
  f.targetPath = in.optStr();
  f.mimeType = in.optStr();
  f.selinux = in.optStr();
  f.acl = in.optStr();
  const std::uint8_t hashes = in.u8();
  for (std::uint8_t i = 0; i < hashes && in.ok(); ++i) {
    const auto type = static_cast<core::HashType>(in.u8());
    f.hashes[type] = in.str();
  }
  r.seenAt = in.time();
  r.scanId = in.u64();
  if (!in.ok()) return core::failf(core::ErrorCode::Parse, "baseline record of {} is truncated", std::string(path));
  return r;
}

}  // namespace fim::baseline
