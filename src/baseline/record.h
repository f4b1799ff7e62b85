#pragma once
// A record: what the baseline remembers of one path (stored under the path as its key), and its
// versioned binary encoding. Version 3 is the FileInfo encoding and a flags byte (the digests are
// stale); version 2 the FileInfo encoding alone; version 1 (databases of format 1) also carried
// when the record was written and a scan id, read and ignored here.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "events/file_info.h"

namespace fim::baseline {

inline constexpr std::uint8_t kRecordVersion = 3;

std::string encodeRecord(const events::FileInfo& info);
// `path` is the key the record was stored under. Versions 1 to 3 are read; another version, a
// short record or bytes left over are an error that names the path and the version.
[[nodiscard]] core::Result<events::FileInfo> decodeRecord(std::string_view path, std::string_view bytes);
// The record's metadata read in place (pointing into `bytes`); nullopt when decodeRecord fails.
std::optional<events::FileStamp> stampOfRecord(std::string_view bytes);

}  // namespace fim::baseline
