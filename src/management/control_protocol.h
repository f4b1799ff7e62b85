#pragma once
// The control socket's protocol (<path.data>/fimbeat.sock, control_server.h): one JSON request
// line, one JSON answer line, then the server closes. Requests carry "version":1 and a
// "command": approve (paths, for_ms, reason), list, revoke (id). The answer is an approvals
// document (approval_format.h: the new, listed or revoked approvals) or {"error":"..."}.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "management/approval_format.h"

namespace fim::management {

inline constexpr std::uint32_t kControlVersion = 1;

struct ControlRequest {
  enum class Kind { Approve, List, Revoke };
  Kind kind = Kind::List;
  std::vector<std::string> paths;       // approve
  std::chrono::milliseconds duration{};  // approve
  std::string reason;                    // approve
  std::string id;                        // revoke
};

std::string encodeRequest(const ControlRequest& request);
[[nodiscard]] core::Result<ControlRequest> decodeRequest(std::string_view json);

std::string encodeError(std::string_view message);
// The approvals the agent answered with, or the error it sent (InvalidArgument, its message).
[[nodiscard]] core::Result<std::vector<Approval>> decodeAnswer(std::string_view json);

// Sends one request to the agent listening on `socketPath` and returns its answer line.
// Unavailable when no agent listens there (no socket, or nobody accepts).
[[nodiscard]] core::Result<std::string> exchange(const std::string& socketPath, std::string_view request);

}  // namespace fim::management
