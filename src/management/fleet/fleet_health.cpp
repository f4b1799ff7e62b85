#include "management/fleet/fleet_health.h"

#include <fmt/format.h>
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

core::HealthReport worstOf(const core::Health& health, std::initializer_list<std::string_view> units) {
  core::HealthReport out;
  for (auto unit : units) {
    auto report = health.unit(unit);
    if (static_cast<int>(report.state) > static_cast<int>(out.state)) out.state = report.state;
    if (!report.message.empty()) out.message += (out.message.empty() ? "" : "; ") + std::string(unit) + ": " + report.message;
  }
  return out;
}

struct PolicyInputs {
  std::string output = "default";
  std::vector<std::pair<std::string, std::vector<std::string>>> fim;  // input id, stream ids
  std::vector<std::pair<std::string, std::string>> other;             // type, input id
};

PolicyInputs inputsOf(const std::string& policyJson) {
  PolicyInputs out;
  simdjson::dom::parser parser;
  simdjson::dom::array inputs;
  if (parser.parse(policyJson)["inputs"].get(inputs) != simdjson::SUCCESS) return out;
  for (auto input : inputs) {
    std::string_view type, id, output;
    if (input["type"].get(type) != simdjson::SUCCESS || input["id"].get(id) != simdjson::SUCCESS) continue;
    if (type != "audit/file_integrity") {
      out.other.emplace_back(type, id);
      continue;
    }
    if (input["use_output"].get(output) == simdjson::SUCCESS) out.output = output;
    std::vector<std::string> streams;
    simdjson::dom::array list;
    if (input["streams"].get(list) == simdjson::SUCCESS) {
      for (auto s : list) {
        std::string_view sid;
        if (s["id"].get(sid) == simdjson::SUCCESS) streams.emplace_back(sid);
      }
    }
    out.fim.emplace_back(id, std::move(streams));
  }
  return out;
}

void unit(Writer& w, const std::string& id, const char* type, core::HealthState state, const std::string& message,
          const std::vector<std::string>* streams) {
  w.StartObject();
  str(w, "id", id);
  str(w, "type", type);
  str(w, "status", core::toString(state));
  str(w, "message", message.empty() ? "Healthy" : message);
  if (streams) {
    w.Key("payload");
    w.StartObject();
    w.Key("streams");
    w.StartObject();
    for (const auto& s : *streams) {
      w.Key(s.c_str());
      w.StartObject();
      str(w, "status", core::toString(state));
      str(w, "error", state == core::HealthState::Healthy ? "" : message);
      w.EndObject();
    }
    w.EndObject();
    w.EndObject();
  }
  w.EndObject();
}

}  // namespace

CheckinHealth checkinHealth(const core::Health& health, const FleetState& state) {
  CheckinHealth out;
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartArray();
  bool failed = false, degraded = false;
  if (state.good && state.unenrollReason.empty()) {
    const auto inputs = inputsOf(state.good->json);
    const auto input = worstOf(health, {core::Health::kWatcher, core::Health::kBaseline, core::Health::kQueue});
    const auto output = health.unit(core::Health::kOutput);
    if (!inputs.fim.empty()) {
      const std::string component = "audit/file_integrity-" + inputs.output;
      const auto worst = static_cast<int>(input.state) > static_cast<int>(output.state) ? input : output;
      w.StartObject();
      str(w, "id", component);
      str(w, "type", "audit/file_integrity");
      str(w, "status", core::toString(worst.state));
      str(w, "message", worst.message.empty() ? "Healthy" : worst.message);
      w.Key("units");
      w.StartArray();
      for (const auto& [id, streams] : inputs.fim) unit(w, component + "-" + id, "input", input.state, input.message, &streams);
      unit(w, component, "output", output.state, output.message, nullptr);
      w.EndArray();
      w.EndObject();
      failed = worst.state == core::HealthState::Failed;
      degraded = worst.state == core::HealthState::Degraded;
    }
    for (const auto& [type, id] : inputs.other) {  // decision 6: shown as FAILED with the reason
      const std::string component = type + "-" + inputs.output;
      const std::string why = fmt::format("input type {} is not supported by fimbeat", type);
      w.StartObject();
      str(w, "id", component);
      str(w, "type", type);
      str(w, "status", "FAILED");
      str(w, "message", why);
      w.Key("units");
      w.StartArray();
      unit(w, component + "-" + id, "input", core::HealthState::Failed, why, nullptr);
      w.EndArray();
      w.EndObject();
      failed = true;
    }
  }
  w.EndArray();
  out.components = buffer.GetString();
  const bool rejected = state.last && state.last->status == "rejected" &&
                        (!state.good || state.last->revision != state.good->revision || state.last->id != state.good->id);
  if (!state.unenrollReason.empty()) {
    out.status = "online";
    out.message = "Unenrolling: inputs stopped";
  } else if (!state.good) {
    out.status = "starting";
    out.message = rejected ? fmt::format("policy {} rev {} rejected: {}; no policy running", state.last->id,
                                         state.last->revision, state.last->error)
                           : "Waiting for the first policy";
    if (rejected) out.status = "error";
  } else if (rejected) {
    out.status = "error";
    out.message = fmt::format("policy {} rev {} rejected: {}; running rev {}", state.last->id, state.last->revision,
                              state.last->error, state.good->revision);
  } else if (failed) {
    out.status = "error";
    out.message = health.overall().message;
  } else if (degraded) {
    out.status = "degraded";
    out.message = health.overall().message;
  } else {
    out.status = "online";
    out.message = "Running";
  }
  return out;
}

}  // namespace fim::management::fleet
