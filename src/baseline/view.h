#pragma once
// baseline::View: the read-only window the watcher has on the baseline (the one deliberate edge
// watcher → baseline besides classify.h; see docs/design/pipeline.md). It gives each path's
// recorded state, never the stored bytes: a record this fimbeat cannot decode is reported by the
// baseline once and shows here as no record, so the next observation of its path rewrites it.

#include <memory>
#include <optional>
#include <string_view>

#include "core/result.h"
#include "events/file_info.h"

namespace fim::baseline {

// A forward cursor over the records in path order, from the snapshot taken when it was made.
class RecordCursor {
 public:
  virtual ~RecordCursor() = default;
  virtual void seek(std::string_view path) = 0;  // to the first record at or after `path`
  virtual void next() = 0;
  virtual bool valid() const = 0;  // false past the end or after a read error (see status)
  virtual std::string_view path() const = 0;
  // The record's stamp, read in place (its names point into the record: valid until the cursor
  // moves); nullopt when the record cannot be decoded.
  virtual std::optional<events::FileStamp> stamp() const = 0;
  // The whole record; nullopt when it cannot be decoded.
  virtual std::optional<events::FileInfo> info() const = 0;
  [[nodiscard]] virtual core::Status status() const = 0;
};

class View {
 public:
  virtual ~View() = default;
  // The record of `path`; nullopt when there is none (or none that can be decoded). Thread-safe.
  [[nodiscard]] virtual core::Result<std::optional<events::FileInfo>> lookup(std::string_view path) = 0;
  // A cursor over every record, not yet positioned (seek first). Thread-safe.
  [[nodiscard]] virtual std::unique_ptr<RecordCursor> records() = 0;
};

}  // namespace fim::baseline
