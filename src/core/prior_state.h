#pragma once
// PriorState: read access to what the baseline last recorded for a path, so the watcher can
// skip rehashing files whose identity and times did not move. A walk compares each entry with
// its record's stamp, and decodes the whole record only for an entry that changed.

#include <memory>
#include <optional>
#include <string_view>

#include "events/file_event.h"
#include "core/kv_store.h"
#include "core/result.h"

namespace fim::core {

class PriorState {
 public:
  virtual ~PriorState() = default;
  // Thread-safe; nullopt when the path has no record.
  [[nodiscard]] virtual Result<std::optional<events::FileInfo>> lookup(std::string_view path) = 0;
  // A cursor over the records in path order (each value a record as stored), from a snapshot
  // taken now: a walk reads a directory's records as it lists the directory, in one forward pass.
  [[nodiscard]] virtual std::unique_ptr<KvCursor> records() = 0;
  // What a record the cursor gave says of the metadata, read in place (the stamp points into
  // `record`); nullopt when the record cannot be read.
  virtual std::optional<events::FileStamp> stamp(std::string_view record) const = 0;
  // The whole of such a record.
  [[nodiscard]] virtual Result<events::FileInfo> decode(std::string_view path, std::string_view record) const = 0;
};

}  // namespace fim::core
