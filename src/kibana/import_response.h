#pragma once
// Kibana's answers: GET /api/status (its version) and the saved objects import's result, whose
// HTTP 200 may still hold an error for each object that was not imported.

#include <string>
#include <vector>

#include "core/result.h"
#include "kibana/saved_object.h"
#include "output/elasticsearch/http_client.h"

namespace fim::kibana {

// The oldest Kibana whose saved object format fimbeat's objects are written in (import migrates
// objects forward, never back).
inline constexpr const char* kOldestKibana = "8.11.0";

struct KibanaStatus {
  std::string version;  // version.number
  bool snapshot = false;
};

// 401/403 say which credentials to fix; other statuses or a body without version.number are errors.
[[nodiscard]] core::Result<KibanaStatus> readStatus(const output::es::HttpResponse& response);
// Refuses a Kibana older than `oldest` ("8.11.0"), whose import would reject newer objects.
[[nodiscard]] core::Status checkVersion(const KibanaStatus& status, const std::string& oldest = kOldestKibana);

struct ImportProblem {
  std::string type;
  std::string id;
  std::string title;
  std::string kind;    // error.type: conflict, ambiguous_conflict, missing_references, unsupported_type, unknown
  std::string detail;  // the missing references, or the error's message
  std::string describe() const;  // `dashboard fimbeat-x "[fimbeat] ...": missing_references: index-pattern/abc`
};

struct ImportResult {
  bool success = false;
  int successCount = 0;
  std::vector<Reference> imported;  // successResults
  std::vector<ImportProblem> problems;  // one per object in errors
};

// A status >= 300 is an error with Kibana's message; a 200 is parsed whatever its success says.
[[nodiscard]] core::Result<ImportResult> readImportResponse(const output::es::HttpResponse& response);

}  // namespace fim::kibana
