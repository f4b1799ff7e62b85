#include <doctest/doctest.h>

#include "kibana/import_request.h"
#include "kibana/import_response.h"

using namespace fim::kibana;
using fim::output::es::HttpResponse;

TEST_CASE("the import body is one multipart part named file, NDJSON, with a boundary absent from the objects") {
  const MultipartBody body = importBody({R"({"id":"a"})", R"({"id":"b"})"});
  const std::string boundary = body.contentType.substr(body.contentType.find("boundary=") + 9);
  REQUIRE(body.contentType.starts_with("multipart/form-data; boundary="));
  CHECK(body.body == "--" + boundary +
                         "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"fimbeat.ndjson\"\r\n"
                         "Content-Type: application/ndjson\r\n\r\n{\"id\":\"a\"}\n{\"id\":\"b\"}\n\r\n--" +
                         boundary + "--\r\n");
  const MultipartBody tricky = importBody({"{\"title\":\"" + boundary + "\"}"});
  CHECK(tricky.contentType != body.contentType);
  const std::string other = tricky.contentType.substr(tricky.contentType.find("boundary=") + 9);
  CHECK(tricky.body.find("--" + other + "\r\n") == 0);
}

TEST_CASE("the import path: overwrite, and the space prefix (none for the default space)") {
  CHECK(importPath("", true) == "/api/saved_objects/_import?overwrite=true");
  CHECK(importPath("default", true) == "/api/saved_objects/_import?overwrite=true");
  CHECK(importPath("secops", true) == "/s/secops/api/saved_objects/_import?overwrite=true");
  CHECK(importPath("secops", false) == "/s/secops/api/saved_objects/_import");
}

TEST_CASE("a 200 answer with errors names each object, its type and why") {
  const HttpResponse response{200, R"({"success":false,"successCount":1,
    "successResults":[{"type":"lens","id":"l","meta":{"title":"L"}}],
    "errors":[{"id":"d","type":"dashboard","title":"[fimbeat] D","meta":{"title":"[fimbeat] D"},
               "error":{"type":"missing_references","references":[{"type":"index-pattern","id":"dv"},{"type":"lens","id":"x"}]}},
              {"id":"s","type":"search","meta":{"title":"S"},"error":{"type":"conflict"}},
              {"id":"m","type":"map","meta":{},"error":{"type":"unsupported_type"}},
              {"id":"n","type":"lens","meta":{},"error":{"type":"unknown","message":"belongs to a more recent version of Kibana [9.9.9]","statusCode":400}}]})"};
  auto result = readImportResponse(response);
  REQUIRE(result.has_value());
  CHECK_FALSE(result->success);
  CHECK(result->successCount == 1);
  REQUIRE(result->imported.size() == 1);
  CHECK(result->imported[0].id == "l");
  REQUIRE(result->problems.size() == 4);
  CHECK(result->problems[0].describe() == "dashboard d \"[fimbeat] D\": missing_references: index-pattern/dv, lens/x");
  CHECK(result->problems[1].describe() == "search s \"S\": conflict: the object exists and overwrite was not requested");
  CHECK(result->problems[2].describe() == "map m: unsupported_type");
  CHECK(result->problems[3].describe() == "lens n: unknown: belongs to a more recent version of Kibana [9.9.9]");
}

TEST_CASE("a clean import, and answers that are not one") {
  auto ok = readImportResponse({200, R"({"success":true,"successCount":2,"successResults":[{"type":"a","id":"1"},{"type":"b","id":"2"}]})"});
  REQUIRE(ok.has_value());
  CHECK(ok->success);
  CHECK(ok->problems.empty());
  auto refused = readImportResponse({413, R"({"statusCode":413,"error":"Request Entity Too Large","message":"Payload content length greater than maximum allowed: 1048576"})"});
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().message() == "importing saved objects: HTTP 413: Payload content length greater than maximum allowed: 1048576");
  CHECK_FALSE(readImportResponse({200, "<html>"}).has_value());
  CHECK_FALSE(readImportResponse({200, R"({"errors":[]})"}).has_value());
}

TEST_CASE("status: version, snapshot, credentials and the oldest Kibana") {
  auto status = readStatus({200, R"({"name":"kb","version":{"number":"8.11.4","build_snapshot":false},"status":{"overall":{"level":"available"}}})"});
  REQUIRE(status.has_value());
  CHECK(status->version == "8.11.4");
  CHECK(checkVersion(*status).has_value());
  CHECK(checkVersion({"9.2.0", false}).has_value());
  CHECK(checkVersion({"8.11.0-SNAPSHOT", true}).has_value());
  auto old = checkVersion({"8.10.4", false});
  REQUIRE_FALSE(old.has_value());
  CHECK(old.error().message().find("Kibana 8.10.4 is older than 8.11.0") == 0);
  CHECK_FALSE(checkVersion({"7.17.0", false}).has_value());
  auto denied = readStatus({401, R"({"statusCode":401,"error":"Unauthorized","message":"Unauthorized"})"});
  REQUIRE_FALSE(denied.has_value());
  CHECK_FALSE(denied.error().retryable());
  CHECK(denied.error().message().find("HTTP 401: Unauthorized (check setup.kibana.username/password") != std::string::npos);
  auto starting = readStatus({503, R"({"statusCode":503,"error":"Service Unavailable","message":"Kibana server is not ready yet"})"});
  REQUIRE_FALSE(starting.has_value());
  CHECK(starting.error().retryable());
  CHECK_FALSE(readStatus({200, R"({"version":{}})"}).has_value());
}
