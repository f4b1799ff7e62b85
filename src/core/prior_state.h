#pragma once
// PriorState: read access to what the baseline last recorded for a path, so the watcher can
// skip rehashing files whose identity and times did not move.

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
  // The records of a directory's direct children, read in one sequential pass.
  [[nodiscard]] virtual Status children(std::string_view directory,
                                        const std::function<void(FileInfo&&)>& visit) = 0;
};

}  // namespace fim::core
