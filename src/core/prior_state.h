#pragma once
// PriorState: read access to what the baseline last recorded for a path, so the watcher can
// skip rehashing files whose identity and times did not move.

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
};

}  // namespace fim::core
