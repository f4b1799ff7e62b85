#pragma once
// The JSON bodies of the Fleet Server protocol (design §2.2–2.5), written with RapidJSON and read
// with simdjson. Pure functions: tests feed them the spec's examples.

#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "management/fleet/fleet_state.h"

namespace fim::management::fleet {

// Elastic Agent's ECS metadata (ea:pkg/ecsmeta) for this host: elastic.agent.*, host.*, os.*.
std::string localMetadataJson(const std::string& agentId, const std::string& version, const std::string& logLevel);

std::string enrollBody(const Enrollment& enrollment, const std::string& localMetadata);

struct EnrollResult {
  std::string agentId;
  std::string accessApiKeyId;
  std::string accessApiKey;
  std::string policyId;
  std::string enrolledAt;
};
[[nodiscard]] core::Result<EnrollResult> parseEnrollResponse(const std::string& body);

struct CheckinRequest {
  std::string status;   // online | degraded | error | starting
  std::string message;
  std::string ackToken;
  std::string localMetadata;  // JSON object
  std::string components;     // JSON array
  std::string policyId;
  std::optional<std::int64_t> revision;
  std::string pollTimeout;    // "10m0s"
};
std::string checkinBody(const CheckinRequest& request);

struct Action {
  std::string id;
  std::string type;
  std::string startTime;
  std::string expiration;
  std::string inputType;  // INPUT_ACTION: the input it is for ("" for the other types)
  std::string json;  // the whole action
  std::string data;  // its `data`, as JSON ("null" for UNENROLL)
};
struct CheckinResult {
  std::string ackToken;
  std::vector<Action> actions;
};
[[nodiscard]] core::Result<CheckinResult> parseCheckinResponse(const std::string& body);
[[nodiscard]] core::Result<Action> parseAction(const std::string& json);

std::string ackBody(const std::string& agentId, const std::vector<AckEvent>& events);
// Per-event statuses of an acks response, in request order.
[[nodiscard]] core::Result<std::vector<int>> parseAckResponse(const std::string& body);

// A JSON string field of an object ("" when absent).
std::string jsonString(const std::string& json, const char* pointer);

}  // namespace fim::management::fleet
