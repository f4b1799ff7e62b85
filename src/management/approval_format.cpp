#include "management/approval_format.h"

#include <time.h>

#include <charconv>
#include <cstdio>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <simdjson.h>

#include "core/time_format.h"

namespace fim::management {
namespace {

using core::ErrorCode;

core::Result<std::string> stringOf(simdjson::dom::object object, std::string_view key, std::string_view where) {
  std::string_view value;
  if (object[key].get_string().get(value) != simdjson::SUCCESS) {
    return core::failf(ErrorCode::Parse, "{}: \"{}\" is missing or not a string", where, key);
  }
  return std::string(value);
}

core::Result<Approval> readApproval(simdjson::dom::element element, std::size_t index) {
  const std::string where = "approval " + std::to_string(index);
  simdjson::dom::object object;
  if (element.get_object().get(object) != simdjson::SUCCESS) return core::fail(ErrorCode::Parse, where + " is not an object");
  Approval approval;
  auto id = stringOf(object, "id", where);
  auto reason = stringOf(object, "reason", where);
  auto created = stringOf(object, "created", where);
  auto expires = stringOf(object, "expires", where);
  for (const auto* field : {&id, &reason, &created, &expires}) {
    if (!*field) return std::unexpected(field->error());
  }
  approval.id = *id;
  approval.reason = *reason;
  auto createdAt = parseTimestamp(*created);
  auto expiresAt = parseTimestamp(*expires);
  if (!createdAt || !expiresAt) {
    return core::fail(ErrorCode::Parse, where + ": " + (createdAt ? expiresAt.error() : createdAt.error()).message());
  }
  approval.created = *createdAt;
  approval.expires = *expiresAt;
  simdjson::dom::array paths;
  if (object["paths"].get_array().get(paths) != simdjson::SUCCESS) {
    return core::fail(ErrorCode::Parse, where + ": \"paths\" is missing or not an array");
  }
  for (auto path : paths) {
    std::string_view text;
    if (path.get_string().get(text) != simdjson::SUCCESS || !text.starts_with('/')) {
      return core::fail(ErrorCode::Parse, where + ": \"paths\" holds something other than an absolute path");
    }
    approval.paths.emplace_back(text);
  }
  return approval;
}

}  // namespace

std::string encodeApprovals(const std::vector<Approval>& approvals) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("version");
  w.Uint(kApprovalsVersion);
  w.Key("approvals");
  const std::string array = encodeApprovalArray(approvals);
  w.RawValue(array.data(), array.size(), rapidjson::kArrayType);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string encodeApprovalArray(const std::vector<Approval>& approvals) {
  std::string out = "[";
  for (const auto& a : approvals) {
    if (out.size() > 1) out += ',';
    out += encodeApproval(a);
  }
  return out + "]";
}

std::string encodeApproval(const Approval& a) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("id");
  w.String(a.id.data(), static_cast<rapidjson::SizeType>(a.id.size()));
  w.Key("reason");
  w.String(a.reason.data(), static_cast<rapidjson::SizeType>(a.reason.size()));
  w.Key("paths");
  w.StartArray();
  for (const auto& p : a.paths) w.String(p.data(), static_cast<rapidjson::SizeType>(p.size()));
  w.EndArray();
  const std::string created = core::formatTimestamp(a.created);
  const std::string expires = core::formatTimestamp(a.expires);
  w.Key("created");
  w.String(created.data(), static_cast<rapidjson::SizeType>(created.size()));
  w.Key("expires");
  w.String(expires.data(), static_cast<rapidjson::SizeType>(expires.size()));
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

core::Result<std::vector<Approval>> decodeApprovals(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto error = parser.parse(json.data(), json.size()).get(doc); error != simdjson::SUCCESS) {
    return core::failf(ErrorCode::Parse, "not JSON: {}", simdjson::error_message(error));
  }
  std::uint64_t version = 0;
  if (doc["version"].get_uint64().get(version) != simdjson::SUCCESS) {
    return core::fail(ErrorCode::Parse, "\"version\" is missing or not a number");
  }
  if (version != kApprovalsVersion) {
    return core::failf(ErrorCode::Parse, "version {}, this fimbeat reads version {}", version, kApprovalsVersion);
  }
  simdjson::dom::array list;
  if (doc["approvals"].get_array().get(list) != simdjson::SUCCESS) {
    return core::fail(ErrorCode::Parse, "\"approvals\" is missing or not an array");
  }
  std::vector<Approval> approvals;
  std::size_t index = 0;
  for (auto element : list) {
    auto approval = readApproval(element, index++);
    if (!approval) return std::unexpected(approval.error());
    approvals.push_back(std::move(*approval));
  }
  return approvals;
}

core::Result<core::TimePoint> parseTimestamp(std::string_view text) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millis = 0;
  char zone = 0;
  const std::string copy(text);
  if (text.size() != 24 || std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &year, &month, &day, &hour,
                                       &minute, &second, &millis, &zone) != 8 || zone != 'Z') {
    return core::failf(ErrorCode::Parse, "\"{}\" is not a time like 2026-12-05T16:07:10.123Z", text);
  }
  tm parts{};
  parts.tm_year = year - 1900;
  parts.tm_mon = month - 1;
  parts.tm_mday = day;
  parts.tm_hour = hour;
  parts.tm_min = minute;
  parts.tm_sec = second;
  const time_t seconds = ::timegm(&parts);
  return core::TimePoint(std::chrono::seconds(seconds)) + std::chrono::milliseconds(millis);
}

}  // namespace fim::management
