#pragma once
// The binary encoding of FileInfo, shared by the baseline's records and the durable queue's
// events (each adds its own format version around it). Little-endian, length-prefixed.

#include "core/binary_codec.h"
#include "events/file_info.h"

namespace fim::events {

// Everything but the path (stored as the key, or separately).
void writeFileInfo(core::BinaryWriter& w, const FileInfo& info);
void readFileInfo(core::BinaryReader& r, FileInfo& info);
// The same encoding read in place, without allocating: the stamp points into r's input.
void readFileStamp(core::BinaryReader& r, FileStamp& stamp);

}  // namespace fim::events
