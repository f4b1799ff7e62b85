#pragma once
// Output: where finished event documents go (file, console, later Elasticsearch).

#include <span>
#include <string>

#include "core/result.h"

namespace fim::output {

class Output {
 public:
  virtual ~Output() = default;

  // docs: serialized JSON documents, one per event, no trailing newline.
  [[nodiscard]] virtual core::Status write(std::span<const std::string> docs) = 0;
  // Makes everything written so far durable (file) or visible (console).
  [[nodiscard]] virtual core::Status flush() = 0;
  // For log lines, e.g. "file output writing to /var/lib/fimbeat/events/fimbeat-20261121.ndjson".
  virtual std::string describe() const = 0;
};

}  // namespace fim::output
