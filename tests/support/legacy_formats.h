#pragma once
// What earlier versions of fimbeat wrote, for the tests that read or migrate it.

#include <string>

#include "core/binary_codec.h"
#include "events/file_info.h"
#include "events/file_info_codec.h"

namespace fim::testing {

// A baseline record exactly as fimbeat 0.1 (database format 1) wrote it: version 1, the FileInfo
// encoding, when it was written and the scan that wrote it.
inline std::string version1Record(const events::FileInfo& info,
                                  core::TimePoint writtenAt = core::TimePoint(std::chrono::milliseconds(1700000000123)),
                                  std::uint64_t scanId = 3) {
  core::BinaryWriter w;
  w.u8(1);
  events::writeFileInfo(w, info);
  w.time(writtenAt);
  w.u64(scanId);
  return w.take();
}

// A baseline record as fimbeat 0.2 (database format 2) wrote it: version 2, the FileInfo encoding.
inline std::string version2Record(const events::FileInfo& info) {
  core::BinaryWriter w;
  w.u8(2);
  events::writeFileInfo(w, info);
  return w.take();
}

}  // namespace fim::testing
