#pragma once
// Record: what the baseline remembers of one path, and its versioned binary encoding.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "events/file_event.h"
#include "core/result.h"

namespace fim::baseline {

struct Record {
  events::FileInfo info;      // metadata and hashes as last observed (info.path is the key)
  core::TimePoint seenAt;    // when it was last written (an unchanged path is not rewritten)
  std::uint64_t scanId = 0;  // the scan that last wrote it
};

inline constexpr std::uint8_t kRecordVersion = 1;

std::string encodeRecord(const Record& record);
// `path` is the key the record was stored under; an unknown version or a short record is an error.
[[nodiscard]] core::Result<Record> decodeRecord(std::string_view path, std::string_view bytes);
// The record's metadata read in place (pointing into `bytes`); nullopt for an unknown version
// or a short record.
std::optional<events::FileStamp> stampOfRecord(std::string_view bytes);

}  // namespace fim::baseline
