#pragma once
// One approval command (approve, list, revoke) carried out on the agent's ApprovalStore, whoever
// sent it: the control socket (`fimbeat approve`, control_server.h) or Fleet's INPUT_ACTION for the
// fim input (fleet/action_handler.h). Both go through carryOut(), so they validate and log alike.
// Fleet's form is the action's `data`: {"approve":{"paths":[...],"for":"30m","reason":"..."}},
// {"revoke":{"id":"..."}} or {"list":{}}; its answer, the ack's action_response, is
// {"approval":{...}} (approve, revoke) or {"approvals":[...]} (list).

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "management/approval_format.h"
#include "management/approval_store.h"
#include "management/control_protocol.h"

namespace fim::management {

// The input type of Fleet's fim integration: INPUT_ACTIONs for it are approval commands.
inline constexpr std::string_view kFimInputType = "audit/file_integrity";

// A duration as `--for` takes it (Beats' syntax: 90s, 30m, 1h30m), at least 1 ms.
[[nodiscard]] core::Result<std::chrono::milliseconds> parseApprovalDuration(std::string_view text);

// Carries out `request` on `store` and logs what changed; the approvals it concerns (the new one,
// the revoked one, or the current ones).
[[nodiscard]] core::Result<std::vector<Approval>> carryOut(ApprovalStore& store, const ControlRequest& request);

// An INPUT_ACTION's data → the request; InvalidArgument, saying what is wrong, otherwise.
[[nodiscard]] core::Result<ControlRequest> decodeFleetCommand(std::string_view data);
// The ack's action_response for what carryOut() returned (a failure's is encodeError()'s).
std::string encodeFleetAnswer(ControlRequest::Kind kind, const std::vector<Approval>& approvals);

}  // namespace fim::management
