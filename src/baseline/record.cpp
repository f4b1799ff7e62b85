#include "baseline/record.h"

#include "core/binary_codec.h"
#include "events/file_info_codec.h"

namespace fim::baseline {
namespace {

constexpr std::size_t kVersion1Trailer = 16;  // version 1: when it was written (i64) and a scan id (u64)
constexpr std::uint8_t kHashesStale = 1;       // version 3's flags byte

// Past the version byte, and for version 1 without its trailer: what holds the FileInfo; nullopt
// for a version this fimbeat does not know.
std::optional<std::string_view> payload(std::string_view bytes, std::uint8_t& version) {
  if (bytes.empty()) return std::nullopt;
  version = static_cast<std::uint8_t>(bytes.front());
  bytes.remove_prefix(1);
  if (version == kRecordVersion || version == 2) return bytes;
  if (version == 1 && bytes.size() >= kVersion1Trailer) return bytes.substr(0, bytes.size() - kVersion1Trailer);
  return std::nullopt;
}

}  // namespace

std::string encodeRecord(const events::FileInfo& info) {
  core::BinaryWriter w;
  w.u8(kRecordVersion);
  events::writeFileInfo(w, info);
  w.u8(info.hashesStale ? kHashesStale : 0);
  return w.take();
}

core::Result<events::FileInfo> decodeRecord(std::string_view path, std::string_view bytes) {
  std::uint8_t version = 0;
  const auto body = payload(bytes, version);
  if (!body) {
    if (bytes.empty()) return core::failf(core::ErrorCode::Parse, "the baseline record of {} is empty", path);
    return core::failf(core::ErrorCode::Parse, "the baseline record of {} has version {}; this fimbeat reads versions 1 to {}",
                       path, version, kRecordVersion);
  }
  core::BinaryReader in(*body);
  events::FileInfo info;
  info.path = std::string(path);
  events::readFileInfo(in, info);
  if (version >= 3) info.hashesStale = (in.u8() & kHashesStale) != 0;
  if (!in.ok() || !in.atEnd()) {
    return core::failf(core::ErrorCode::Parse, "the baseline record of {} (version {}) is damaged", path, version);
  }
  return info;
}

std::optional<events::FileStamp> stampOfRecord(std::string_view bytes) {
  std::uint8_t version = 0;
  const auto body = payload(bytes, version);
  if (!body) return std::nullopt;
  core::BinaryReader in(*body);
  events::FileStamp stamp;
  events::readFileStamp(in, stamp);
  if (version >= 3) stamp.hashesStale = (in.u8() & kHashesStale) != 0;
  if (!in.ok() || !in.atEnd()) return std::nullopt;
  return stamp;
}

}  // namespace fim::baseline
