#pragma once
// PriorState: read access to what the baseline last recorded for a path, so the watcher can
// skip rehashing files whose identity and times did not move. A walk compares each entry with
// its record's stamp, and decodes the whole record only for an entry that changed.

#include <functional>
#include <optional>
#include <string_view>

#include "core/event.h"
#include "core/result.h"

namespace fim::core {

class PriorState {
 public:
  virtual ~PriorState() = default;
  // Thread-safe; nullopt when the path has no record.
  [[nodiscard]] virtual Result<std::optional<FileInfo>> lookup(std::string_view path) = 0;
  // The records of a directory's direct children, read in one sequential pass, in path order:
  // each child's path and its record as stored, both valid during the visit only.
  [[nodiscard]] virtual Status children(
      std::string_view directory, const std::function<void(std::string_view path, std::string_view record)>& visit) = 0;
  // What a record children() gave says of the metadata, read in place (the stamp points into
  // `record`); nullopt when the record cannot be read.
  virtual std::optional<FileStamp> stamp(std::string_view record) const = 0;
  // The whole of such a record.
  [[nodiscard]] virtual Result<FileInfo> decode(std::string_view path, std::string_view record) const = 0;
};

}  // namespace fim::core
