#pragma once
// The binary encodings of FileInfo (shared with the baseline record) and of a whole FileEvent
// (a durable queue entry). Versioned: an entry written by another version is an error, not garbage.

#include <string>
#include <string_view>

#include "core/binary_codec.h"
#include "core/event.h"
#include "core/result.h"

namespace fim::core {

// Everything but the path (stored as the key, or separately).
void writeFileInfo(BinaryWriter& w, const FileInfo& info);
void readFileInfo(BinaryReader& r, FileInfo& info);
// The same encoding read in place, without allocating: the stamp points into r's input.
void readFileStamp(BinaryReader& r, FileStamp& stamp);

inline constexpr std::uint8_t kEventVersion = 1;

std::string encodeEvent(const FileEvent& event);
// `sequence` is the queue position the entry was stored under.
[[nodiscard]] Result<FileEvent> decodeEvent(std::uint64_t sequence, std::string_view bytes);

}  // namespace fim::core
