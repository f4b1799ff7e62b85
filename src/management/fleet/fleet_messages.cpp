#include "management/fleet/fleet_messages.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <map>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <simdjson.h>

namespace fim::management::fleet {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void str(Writer& w, const char* key, const std::string& value) {
  w.Key(key);
  w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
}

// The spec's inputEvent requires all five; an ack kept by an older fimbeat lacks them.
void inputFields(Writer& w, const AckEvent& e) {
  str(w, "action_input_type", e.inputType);
  const std::string& data = e.actionData.empty() ? std::string("null") : e.actionData;
  const std::string& response = e.actionResponse.empty() ? std::string("{}") : e.actionResponse;
  w.Key("action_data");
  w.RawValue(data.c_str(), data.size(), rapidjson::kObjectType);
  w.Key("action_response");
  w.RawValue(response.c_str(), response.size(), rapidjson::kObjectType);
  str(w, "started_at", e.startedAt.empty() ? e.timestamp : e.startedAt);
  str(w, "completed_at", e.completedAt.empty() ? e.timestamp : e.completedAt);
}

std::map<std::string, std::string> osRelease() {
  std::map<std::string, std::string> out;
  std::ifstream in("/etc/os-release");
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string value = line.substr(eq + 1);
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'')) value = value.substr(1, value.size() - 2);
    out[line.substr(0, eq)] = value;
  }
  return out;
}

std::string firstLine(const char* file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

std::string localMetadataJson(const std::string& agentId, const std::string& version, const std::string& logLevel) {
  utsname uts{};
  ::uname(&uts);
  char hostname[256] = {0};
  ::gethostname(hostname, sizeof hostname - 1);
  auto os = osRelease();
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("elastic");
  w.StartObject();
  w.Key("agent");
  w.StartObject();
  str(w, "id", agentId);
  str(w, "version", version);
  w.Key("snapshot");
  w.Bool(false);
  w.Key("upgradeable");
  w.Bool(false);
  str(w, "log_level", logLevel.empty() ? "info" : logLevel);
  w.EndObject();
  w.EndObject();
  w.Key("host");
  w.StartObject();
  str(w, "architecture", uts.machine);
  str(w, "hostname", hostname);
  str(w, "name", hostname);
  str(w, "id", firstLine("/etc/machine-id"));
  w.EndObject();
  w.Key("os");
  w.StartObject();
  str(w, "family", os.count("ID_LIKE") ? os["ID_LIKE"] : os["ID"]);
  str(w, "kernel", uts.release);
  str(w, "platform", os["ID"]);
  str(w, "version", os["VERSION"]);
  str(w, "name", os["NAME"]);
  str(w, "full", os["PRETTY_NAME"]);
  w.EndObject();
  w.EndObject();
  return buffer.GetString();
}

std::string enrollBody(const Enrollment& e, const std::string& localMetadata) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  str(w, "type", "PERMANENT");
  str(w, "id", e.agentId);
  str(w, "replace_token", e.replaceToken);
  w.Key("metadata");
  w.StartObject();
  w.Key("local");
  w.RawValue(localMetadata.c_str(), localMetadata.size(), rapidjson::kObjectType);
  w.Key("user_provided");
  w.StartObject();
  w.EndObject();
  w.Key("tags");
  w.StartArray();
  for (const auto& t : e.tags) w.String(t.c_str(), static_cast<rapidjson::SizeType>(t.size()));
  w.EndArray();
  w.EndObject();
  w.EndObject();
  return buffer.GetString();
}

core::Result<EnrollResult> parseEnrollResponse(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::dom::element item;
  if (parser.parse(body)["item"].get(item) != simdjson::SUCCESS) {
    return core::fail(core::ErrorCode::Parse, "the enroll response has no `item` object", true);
  }
  EnrollResult out;
  std::string_view v;
  if (item["id"].get(v) == simdjson::SUCCESS) out.agentId = v;
  if (item["access_api_key_id"].get(v) == simdjson::SUCCESS) out.accessApiKeyId = v;
  if (item["access_api_key"].get(v) == simdjson::SUCCESS) out.accessApiKey = v;
  if (item["policy_id"].get(v) == simdjson::SUCCESS) out.policyId = v;
  if (item["enrolled_at"].get(v) == simdjson::SUCCESS) out.enrolledAt = v;
  if (out.agentId.empty() || out.accessApiKey.empty()) {
    return core::fail(core::ErrorCode::Parse, "the enroll response lacks item.id or item.access_api_key", true);
  }
  return out;
}

std::string checkinBody(const CheckinRequest& r) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  str(w, "status", r.status);
  str(w, "message", r.message);
  if (!r.ackToken.empty()) str(w, "ack_token", r.ackToken);
  if (!r.localMetadata.empty()) {
    w.Key("local_metadata");
    w.RawValue(r.localMetadata.c_str(), r.localMetadata.size(), rapidjson::kObjectType);
  }
  if (!r.components.empty()) {
    w.Key("components");
    w.RawValue(r.components.c_str(), r.components.size(), rapidjson::kArrayType);
  }
  if (!r.policyId.empty() && r.revision) {
    str(w, "agent_policy_id", r.policyId);
    w.Key("policy_revision_idx");
    w.Int64(*r.revision);
  }
  if (!r.pollTimeout.empty()) str(w, "poll_timeout", r.pollTimeout);
  w.EndObject();
  return buffer.GetString();
}

core::Result<Action> parseAction(const std::string& json) {
  simdjson::dom::parser parser;
  simdjson::dom::element a;
  if (parser.parse(json).get(a) != simdjson::SUCCESS || !a.is_object()) {
    return core::fail(core::ErrorCode::Parse, "an action is not a JSON object");
  }
  Action out;
  std::string_view v;
  if (a["id"].get(v) == simdjson::SUCCESS) out.id = v;
  if (a["type"].get(v) == simdjson::SUCCESS) out.type = v;
  if (a["start_time"].get(v) == simdjson::SUCCESS) out.startTime = v;
  if (a["expiration"].get(v) == simdjson::SUCCESS) out.expiration = v;
  if (a["input_type"].get(v) == simdjson::SUCCESS) out.inputType = v;
  simdjson::dom::element data;
  out.data = a["data"].get(data) == simdjson::SUCCESS ? simdjson::minify(data) : "null";
  out.json = simdjson::minify(a);
  if (out.id.empty() || out.type.empty()) return core::fail(core::ErrorCode::Parse, "an action lacks its id or type");
  return out;
}

core::Result<CheckinResult> parseCheckinResponse(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view kind;
  if (parser.parse(body).get(root) != simdjson::SUCCESS || root["action"].get(kind) != simdjson::SUCCESS ||
      kind != "checkin") {
    return core::fail(core::ErrorCode::Parse, "the checkin response is not {\"action\":\"checkin\",...}", true);
  }
  CheckinResult out;
  std::string_view token;
  if (root["ack_token"].get(token) == simdjson::SUCCESS) out.ackToken = token;
  simdjson::dom::array actions;
  if (root["actions"].get(actions) == simdjson::SUCCESS) {
    for (auto a : actions) {
      auto action = parseAction(simdjson::minify(a));
      if (!action) return std::unexpected(action.error());
      out.actions.push_back(std::move(*action));
    }
  }
  return out;
}

std::string ackBody(const std::string& agentId, const std::vector<AckEvent>& events) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("events");
  w.StartArray();
  for (const auto& e : events) {
    w.StartObject();
    str(w, "type", "ACTION_RESULT");
    str(w, "subtype", "ACKNOWLEDGED");
    str(w, "agent_id", agentId);
    str(w, "action_id", e.actionId);
    str(w, "message", "Action '" + e.actionId + "' of type '" + e.type + "' acknowledged.");
    str(w, "timestamp", e.timestamp);
    if (!e.error.empty()) str(w, "error", e.error);
    if (e.type == "INPUT_ACTION") inputFields(w, e);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return buffer.GetString();
}

core::Result<std::vector<int>> parseAckResponse(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view kind;
  simdjson::dom::array items;
  if (parser.parse(body).get(root) != simdjson::SUCCESS || root["action"].get(kind) != simdjson::SUCCESS ||
      kind != "acks" || root["items"].get(items) != simdjson::SUCCESS) {
    return core::fail(core::ErrorCode::Parse, "the acks response is not {\"action\":\"acks\",\"items\":[...]}", true);
  }
  std::vector<int> out;
  for (auto item : items) {
    int64_t status = 0;
    out.push_back(item["status"].get(status) == simdjson::SUCCESS ? static_cast<int>(status) : 0);
  }
  return out;
}

std::string jsonString(const std::string& json, const char* pointer) {
  simdjson::dom::parser parser;
  std::string_view v;
  if (parser.parse(json).at_pointer(pointer).get(v) != simdjson::SUCCESS) return {};
  return std::string(v);
}

}  // namespace fim::management::fleet
