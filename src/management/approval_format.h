#pragma once
// Approved change windows as they are stored (<path.data>/approvals.json) and as the control
// socket returns them: {"version":1,"approvals":[{"id","reason","paths","created","expires"}]},
// times ISO-8601 UTC. Versioned: a document of another version is an error, not garbage.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"

namespace fim::management {

inline constexpr std::uint32_t kApprovalsVersion = 1;

struct Approval {
  std::string id;                  // random, 8 hex digits
  std::string reason;              // --reason, e.g. a change ticket
  std::vector<std::string> paths;  // absolute; the path and everything under it
  core::TimePoint created;
  core::TimePoint expires;         // no change at or after this instant is approved
};

std::string encodeApprovals(const std::vector<Approval>& approvals);
// One approval as an object of that document: {"id","reason","paths","created","expires"}.
std::string encodeApproval(const Approval& approval);
// Approvals as the array of that document: [{...}, ...].
std::string encodeApprovalArray(const std::vector<Approval>& approvals);
// Reads a document of version 1 (the only one so far; an older one would be migrated here).
[[nodiscard]] core::Result<std::vector<Approval>> decodeApprovals(std::string_view json);

// "2026-12-05T16:07:10.123Z" → its instant; the format core::formatTimestamp writes.
[[nodiscard]] core::Result<core::TimePoint> parseTimestamp(std::string_view text);

}  // namespace fim::management
