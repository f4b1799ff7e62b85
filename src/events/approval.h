#pragma once
// Approved change windows: a change under an approved path, made before the approval expires,
// carries the approval (file_integrity.approval.*). The baseline asks an ApprovalLookup when it
// builds the event, so the verdict is that of the time of the change, not of its delivery.

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace fim::events {

// What an event carries of the approval that covers it.
struct ApprovalMark {
  std::string id;
  std::string reason;
  core::TimePoint expires;
};

class ApprovalLookup {
 public:
  virtual ~ApprovalLookup() = default;
  // The approval covering `path` (the path itself or a directory above it) at `at`; nullopt when
  // none does. Thread-safe.
  virtual std::optional<ApprovalMark> approvalFor(std::string_view path, core::TimePoint at) const = 0;
};

}  // namespace fim::events
