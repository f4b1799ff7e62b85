#include "baseline/record.h"

#include "core/binary_codec.h"
#include "events/file_info_codec.h"

namespace fim::baseline {

std::string encodeRecord(const Record& r) {
  core::BinaryWriter w;
  w.u8(kRecordVersion);
  events::writeFileInfo(w, r.info);
  w.time(r.seenAt);
  w.u64(r.scanId);
  return w.take();
}

core::Result<Record> decodeRecord(std::string_view path, std::string_view bytes) {
  core::BinaryReader in(bytes);
  const std::uint8_t version = in.u8();
  if (in.ok() && version != kRecordVersion) {
    return core::failf(core::ErrorCode::Parse, "baseline record of {} has version {}, this fimbeat reads version {}",
                       std::string(path), version, kRecordVersion);
  }
  Record r;
  events::FileInfo& f = r.info;
  f.path = std::string(path);
  events::readFileInfo(in, f);
  r.seenAt = in.time();
  r.scanId = in.u64();
  if (!in.ok()) return core::failf(core::ErrorCode::Parse, "baseline record of {} is truncated", std::string(path));
  return r;
}

std::optional<events::FileStamp> stampOfRecord(std::string_view bytes) {
  core::BinaryReader in(bytes);
  if (in.u8() != kRecordVersion) return std::nullopt;
  events::FileStamp stamp;
  events::readFileStamp(in, stamp);
  if (!in.ok()) return std::nullopt;
  return stamp;
}

}  // namespace fim::baseline
