#include "management/approval_command.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <simdjson.h>

#include <fmt/format.h>

#include "config/units.h"
#include "core/logging.h"
#include "core/time_format.h"

namespace fim::management {
namespace {

using core::ErrorCode;

constexpr const char* kShapes = R"({"approve":{"paths":[...],"for":"30m","reason":"..."}}, {"revoke":{"id":"..."}} or {"list":{}})";

std::string describe(const Approval& a) {
  std::string paths;
  for (const auto& p : a.paths) paths += (paths.empty() ? "" : ", ") + p;
  return fmt::format("{} ({}) for {} until {}", a.id, a.reason, paths, core::formatTimestamp(a.expires));
}

core::Result<ControlRequest> decodeApprove(simdjson::dom::element args) {
  ControlRequest request;
  request.kind = ControlRequest::Kind::Approve;
  simdjson::dom::array paths;
  if (args["paths"].get_array().get(paths) != simdjson::SUCCESS) {
    return core::fail(ErrorCode::InvalidArgument, "approve needs \"paths\": an array of absolute paths");
  }
  for (auto p : paths) {
    std::string_view text;
    if (p.get_string().get(text) != simdjson::SUCCESS) {
      return core::fail(ErrorCode::InvalidArgument, "approve: \"paths\" holds something other than a string");
    }
    request.paths.emplace_back(text);
  }
  std::string_view duration;
  if (args["for"].get_string().get(duration) != simdjson::SUCCESS) {
    return core::fail(ErrorCode::InvalidArgument, "approve needs \"for\": a duration such as \"30m\"");
  }
  auto parsed = parseApprovalDuration(duration);
  if (!parsed) return core::failf(ErrorCode::InvalidArgument, "approve: \"for\" {}", parsed.error().message());
  request.duration = *parsed;
  std::string_view reason;
  if (args["reason"].get_string().get(reason) != simdjson::SUCCESS) {
    return core::fail(ErrorCode::InvalidArgument, "approve needs \"reason\": why (a change ticket), a string");
  }
  request.reason = reason;
  return request;
}

}  // namespace

core::Result<std::chrono::milliseconds> parseApprovalDuration(std::string_view text) {
  auto parsed = config::parseDuration(text);
  if (!parsed || *parsed < std::chrono::milliseconds(1)) {
    return core::failf(ErrorCode::InvalidArgument, "{}: expected a positive duration such as 30m, 2h or 90s", text);
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(*parsed);
}

core::Result<std::vector<Approval>> carryOut(ApprovalStore& store, const ControlRequest& request) {
  auto& log = core::logger("control");
  switch (request.kind) {
    case ControlRequest::Kind::List: return store.list();
    case ControlRequest::Kind::Approve: {
      auto approval = store.add(request.paths, request.duration, request.reason);
      if (!approval) return std::unexpected(approval.error());
      log.info("approved changes: {}", describe(*approval));
      return std::vector<Approval>{*approval};
    }
    case ControlRequest::Kind::Revoke: {
      auto revoked = store.revoke(request.id);
      if (!revoked) return std::unexpected(revoked.error());
      log.info("revoked approval {}", describe(*revoked));
      return std::vector<Approval>{*revoked};
    }
  }
  return core::fail(ErrorCode::InvalidArgument, "unknown request");
}

core::Result<ControlRequest> decodeFleetCommand(std::string_view data) {
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(data.data(), data.size()).get_object().get(object) != simdjson::SUCCESS || object.size() != 1) {
    return core::failf(ErrorCode::InvalidArgument, "the INPUT_ACTION data must be one command: {}", kShapes);
  }
  const auto field = *object.begin();
  const std::string_view name = field.key;
  const simdjson::dom::element args = field.value;
  if (!args.is_object()) {
    return core::failf(ErrorCode::InvalidArgument, "\"{}\" must be an object: {}", name, kShapes);
  }
  if (name == "approve") return decodeApprove(args);
  ControlRequest request;
  if (name == "list") {
    request.kind = ControlRequest::Kind::List;
    return request;
  }
  if (name == "revoke") {
    std::string_view id;
    if (args["id"].get_string().get(id) != simdjson::SUCCESS || id.empty()) {
      return core::fail(ErrorCode::InvalidArgument, "revoke needs \"id\": the id of an approval");
    }
    request.kind = ControlRequest::Kind::Revoke;
    request.id = id;
    return request;
  }
  return core::failf(ErrorCode::InvalidArgument, "unknown approval command \"{}\": expected {}", name,
                     kShapes);
}

std::string encodeFleetAnswer(ControlRequest::Kind kind, const std::vector<Approval>& approvals) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  if (kind == ControlRequest::Kind::List) {
    w.Key("approvals");
    const std::string array = encodeApprovalArray(approvals);
    w.RawValue(array.data(), array.size(), rapidjson::kArrayType);
  } else if (!approvals.empty()) {
    const std::string object = encodeApproval(approvals.front());
    w.Key(kind == ControlRequest::Kind::Approve ? "approval" : "revoked");
    w.RawValue(object.data(), object.size(), rapidjson::kObjectType);
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace fim::management
