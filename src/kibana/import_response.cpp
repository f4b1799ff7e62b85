#include "kibana/import_response.h"

#include <charconv>

#include <simdjson.h>

namespace fim::kibana {
namespace {

std::string stringAt(simdjson::dom::element element, std::string_view pointer) {
  std::string_view value;
  return element.at_pointer(pointer).get_string().get(value) ? std::string() : std::string(value);
}

// Kibana's error body: {"statusCode":400,"error":"Bad Request","message":"..."}.
std::string describeBody(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (!parser.parse(body).get(root)) {
    std::string message = stringAt(root, "/message");
    if (!message.empty()) return message;
  }
  return body.size() > 300 ? body.substr(0, 300) + "..." : body;
}

core::Error httpError(const std::string& what, const output::es::HttpResponse& response) {
  std::string hint;
  if (response.status == 401) {
    hint = " (check setup.kibana.username/password or setup.kibana.api_key; without them output.elasticsearch's are used)";
  } else if (response.status == 403) {
    hint = " (the user needs the Kibana privileges to manage saved objects: All on Saved Objects Management, Dashboard and Discover)";
  }
  const bool retryable = response.status == 429 || response.status >= 500;
  return core::Error(response.status == 401 || response.status == 403 ? core::ErrorCode::PermissionDenied : core::ErrorCode::Unavailable,
                     fmt::format("{}: HTTP {}: {}{}", what, response.status, describeBody(response.body), hint), retryable);
}

std::vector<int> versionParts(const std::string& version) {
  std::vector<int> parts;
  const char* at = version.data();
  const char* end = at + version.size();
  while (at < end && parts.size() < 3) {
    int value = 0;
    auto [next, ec] = std::from_chars(at, end, value);
    if (ec != std::errc()) break;
    parts.push_back(value);
    at = next < end && *next == '.' ? next + 1 : end;
  }
  return parts;
}

ImportProblem readProblem(simdjson::dom::element error) {
  ImportProblem problem{stringAt(error, "/type"), stringAt(error, "/id"), stringAt(error, "/title"),
                        stringAt(error, "/error/type"), ""};
  if (problem.title.empty()) problem.title = stringAt(error, "/meta/title");
  simdjson::dom::array references;
  if (!error.at_pointer("/error/references").get_array().get(references)) {
    for (auto ref : references) {
      problem.detail += (problem.detail.empty() ? "" : ", ") + stringAt(ref, "/type") + "/" + stringAt(ref, "/id");
    }
  }
  if (problem.detail.empty()) problem.detail = stringAt(error, "/error/message");
  if (problem.detail.empty() && (problem.kind == "conflict" || problem.kind == "ambiguous_conflict")) {
    problem.detail = "the object exists and overwrite was not requested";
  }
  return problem;
}

}  // namespace

std::string ImportProblem::describe() const {
  std::string out = type + " " + id;
  if (!title.empty()) out += " \"" + title + "\"";
  out += ": " + (kind.empty() ? std::string("error") : kind);
  if (!detail.empty()) out += ": " + detail;
  return out;
}

core::Result<KibanaStatus> readStatus(const output::es::HttpResponse& response) {
  if (response.status != 200) return std::unexpected(httpError("GET /api/status", response));
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  KibanaStatus status;
  if (parser.parse(response.body).get(root) || (status.version = stringAt(root, "/version/number")).empty()) {
    return core::fail(core::ErrorCode::Parse, "GET /api/status: the answer has no version.number: is this Kibana?");
  }
  bool snapshot = false;
  if (!root.at_pointer("/version/build_snapshot").get_bool().get(snapshot)) status.snapshot = snapshot;
  return status;
}

core::Status checkVersion(const KibanaStatus& status, const std::string& oldest) {
  const auto have = versionParts(status.version);
  const auto need = versionParts(oldest);
  if (have.size() < 2) return core::failf(core::ErrorCode::Parse, "Kibana's version \"{}\" cannot be read", status.version);
  if (have < need) {
    return core::failf(core::ErrorCode::InvalidArgument,
                       "Kibana {} is older than {}, the oldest version whose saved object format fimbeat's dashboards "
                       "can be imported into",
                       status.version, oldest);
  }
  return {};
}

core::Result<ImportResult> readImportResponse(const output::es::HttpResponse& response) {
  if (response.status < 200 || response.status >= 300) return std::unexpected(httpError("importing saved objects", response));
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(response.body).get(root)) {
    return core::fail(core::ErrorCode::Parse, "importing saved objects: the answer is not JSON: " + describeBody(response.body));
  }
  ImportResult result;
  if (root["success"].get_bool().get(result.success)) {
    return core::fail(core::ErrorCode::Parse, "importing saved objects: the answer has no \"success\": " + describeBody(response.body));
  }
  std::int64_t count = 0;
  if (!root["successCount"].get_int64().get(count)) result.successCount = static_cast<int>(count);
  simdjson::dom::array items;
  if (!root["successResults"].get_array().get(items)) {
    for (auto item : items) result.imported.push_back({stringAt(item, "/type"), stringAt(item, "/id")});
  }
  if (!root["errors"].get_array().get(items)) {
    for (auto item : items) result.problems.push_back(readProblem(item));
  }
  return result;
}

}  // namespace fim::kibana
