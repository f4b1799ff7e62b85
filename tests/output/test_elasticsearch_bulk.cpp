// Pure parts of the Elasticsearch output: bulk bodies, response classification, backoff, URLs.

#include <zlib.h>

#include <simdjson.h>

#include <doctest/doctest.h>

#include "support/gzip.h"

#include "output/elasticsearch/bulk_request.h"
#include "output/elasticsearch/bulk_response.h"
#include "output/elasticsearch/elasticsearch_output.h"
#include "output/elasticsearch/es_connection.h"
#include "output/elasticsearch/host_url.h"
#include "output/elasticsearch/http_client.h"

namespace fim::output::es {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> lines(const std::string& body) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t nl; (nl = body.find('\n', start)) != std::string::npos; start = nl + 1) out.push_back(body.substr(start, nl - start));
  CHECK(start == body.size());  // every line ends in '\n', the last one too
  return out;
}

TEST_CASE("bulk bodies are create actions with _index and _id, each line ending in a newline") {
  std::vector<events::EncodedEvent> events{{1, "abc", R"({"@timestamp":"2026-01-01T00:00:00.000Z"})"},
                                         {2, "", R"({"a":1})"},
                                         {3, "q\"uote", R"({"b":2})"}};
  std::vector<const events::EncodedEvent*> pointers{&events[0], &events[1], &events[2]};
  const auto body = lines(encodeBulk(pointers, "logs-fim.event-default"));
  REQUIRE(body.size() == 6);
  CHECK(body[0] == R"({"create":{"_index":"logs-fim.event-default","_id":"abc"}})");
  CHECK(body[1] == events[0].json);
  CHECK(body[2] == R"({"create":{"_index":"logs-fim.event-default"}})");  // no _id: Elasticsearch picks one
  CHECK(body[4] == R"({"create":{"_index":"logs-fim.event-default","_id":"q\"uote"}})");
  CHECK(body[5] == events[2].json);
}

TEST_CASE("an event's own index (from a format string) wins over the batch's, a dead letter goes to the batch's") {
  events::EncodedEvent dated{1, "a", R"({"x":1})", "auditbeat-9.0.0-2026.01.01"};
  events::EncodedEvent plain{2, "b", R"({"x":2})"};
  std::vector<const events::EncodedEvent*> pointers{&dated, &plain};
  const auto body = lines(encodeBulk(pointers, "logs-fim.event-default"));
  CHECK(body[0] == R"({"create":{"_index":"auditbeat-9.0.0-2026.01.01","_id":"a"}})");
  CHECK(body[2] == R"({"create":{"_index":"logs-fim.event-default","_id":"b"}})");
  const auto letter = deadLetterEvent(dated, "t", "m", "2026-11-21T07:00:00.000Z");
  CHECK(letter.index.empty());
}

TEST_CASE("a dead letter keeps the original document as a string with the error and a timestamp") {
  const events::EncodedEvent original{7, "id-7", R"({"file":{"size":"x"}})"};
  const auto letter = deadLetterEvent(original, "mapper_parsing_exception", "failed to parse field [file.size]",
                                      "2026-11-21T07:00:00.000Z");
  CHECK(letter.id == "id-7");
  CHECK(letter.sequence == 7);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  REQUIRE(parser.parse(letter.json).get(doc) == simdjson::SUCCESS);
  CHECK(std::string_view(doc["message"]) == original.json);
  CHECK(std::string_view(doc["error"]["type"]) == "mapper_parsing_exception");
  CHECK(std::string_view(doc["error"]["message"]) == "failed to parse field [file.size]");
  CHECK(std::string_view(doc["@timestamp"]) == "2026-11-21T07:00:00.000Z");
}

TEST_CASE("gzip bodies decompress to the original") {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += R"({"create":{"_index":"x"}})" "\n";
  for (int level : {1, 6, 9}) {
    auto compressed = gzipCompress(text, level);
    REQUIRE(compressed.has_value());
    CHECK(compressed->size() < text.size() / 10);
    CHECK(testing::gunzip(*compressed) == text);
  }
}

TEST_CASE("each item status has one outcome") {
  const std::vector<std::pair<int, ItemOutcome>> table{
      {200, ItemOutcome::Acked},        {201, ItemOutcome::Acked},        {409, ItemOutcome::Duplicate},
      {429, ItemOutcome::Retry},        {500, ItemOutcome::Retry},        {503, ItemOutcome::Retry},
      {400, ItemOutcome::NonIndexable}, {404, ItemOutcome::NonIndexable}, {413, ItemOutcome::NonIndexable}};
  for (const auto& [status, outcome] : table) {
    CAPTURE(status);
    CHECK((classifyItemStatus(status) == outcome));
  }
  CHECK((classifyRequestStatus(200) == RequestOutcome::Items));
  CHECK((classifyRequestStatus(429) == RequestOutcome::Retry));
  CHECK((classifyRequestStatus(502) == RequestOutcome::Retry));
  CHECK((classifyRequestStatus(413) == RequestOutcome::TooLarge));
  CHECK((classifyRequestStatus(401) == RequestOutcome::Unauthorized));
  CHECK((classifyRequestStatus(403) == RequestOutcome::Unauthorized));
  CHECK((classifyRequestStatus(400) == RequestOutcome::Rejected));
}

TEST_CASE("a filtered bulk response gives one result per item, in order") {
  const std::string body =
      R"({"errors":true,"items":[{"create":{"status":201}},{"create":{"status":409,"error":{"type":"version_conflict_engine_exception","reason":"exists"}}},)"
      R"({"create":{"status":429,"error":{"type":"es_rejected_execution_exception","reason":"queue full"}}},)"
      R"({"create":{"status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [file.size]"}}},)"
      R"({"create":{"status":503}},{"create":{"status":200}}]})";
  auto items = parseBulkResponse(body, 6);
  REQUIRE(items.has_value());
  CHECK((items->at(0).outcome == ItemOutcome::Acked));
  CHECK((items->at(1).outcome == ItemOutcome::Duplicate));
  CHECK((items->at(2).outcome == ItemOutcome::Retry));
  CHECK((items->at(3).outcome == ItemOutcome::NonIndexable));
  CHECK(items->at(3).errorType == "mapper_parsing_exception");
  CHECK(items->at(3).errorReason == "failed to parse field [file.size]");
  CHECK((items->at(4).outcome == ItemOutcome::Retry));
  CHECK((items->at(5).outcome == ItemOutcome::Acked));

  CHECK_FALSE(parseBulkResponse(body, 5).has_value());  // a count that does not match is an error
  CHECK_FALSE(parseBulkResponse("<html>bad gateway</html>", 1).has_value());
  CHECK_FALSE(parseBulkResponse(R"({"errors":false})", 3).has_value());
  CHECK(parseBulkResponse(R"({"errors":false})", 0).has_value());
  auto malformed = parseBulkResponse(R"({"items":[{"create":{}}]})", 1);
  REQUIRE_FALSE(malformed.has_value());
  CHECK(malformed.error().retryable());
}

TEST_CASE("error bodies are summarised as type: reason") {
  CHECK(describeErrorBody(R"({"error":{"type":"security_exception","reason":"unable to authenticate"},"status":401})") ==
        "security_exception: unable to authenticate");
  CHECK(describeErrorBody("") == "(empty body)");
  CHECK(describeErrorBody("line one\nline two") == "line one line two");
}

TEST_CASE("batches split into bulk_max_size chunks") {
  using Ranges = std::vector<std::pair<std::size_t, std::size_t>>;
  CHECK(chunkRanges(0, 3) == Ranges{});
  CHECK(chunkRanges(3, 3) == Ranges{{0, 3}});
  CHECK(chunkRanges(7, 3) == Ranges{{0, 3}, {3, 6}, {6, 7}});
}

TEST_CASE("host strings take scheme, port and path as beats does") {
  struct Case {
    std::string text, protocol, path, base;
  };
  const std::vector<Case> cases{
      {"es", "", "", "http://es:9200"},
      {"es:9201", "", "", "http://es:9201"},
      {"https://es", "", "", "https://es:9200"},
      {"es", "https", "/prefix", "https://es:9200/prefix"},
      {"http://es:9200/own/", "https", "/prefix", "http://es:9200/own"},
      {"[::1]:9300", "", "", "http://[::1]:9300"},
      {"https://user:pw@es", "", "", "https://es:9200"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    auto url = parseHostUrl(c.text, c.protocol, c.path);
    REQUIRE(url.has_value());
    CHECK(url->base() == c.base);
  }
  CHECK(parseHostUrl("https://user:pw@es", "", "")->userinfo == "user:pw");
  CHECK_FALSE(parseHostUrl("ftp://es", "", "").has_value());
  CHECK_FALSE(parseHostUrl("es:99999", "", "").has_value());
  CHECK_FALSE(parseHostUrl("es:port", "", "").has_value());
}

TEST_CASE("api_key id:key becomes Authorization: ApiKey base64(id:key)") {
  // The id/key pair of Elasticsearch's API key documentation and its documented encoding.
  CHECK(apiKeyHeader("VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw") ==
        "Authorization: ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==");
}

TEST_CASE("the GET / handshake checks credentials and the version") {
  auto denied = readHandshake({401, R"({"error":{"type":"security_exception","reason":"unable to authenticate user [x]"}})"}, "http://es:9200");
  REQUIRE_FALSE(denied.has_value());
  CHECK(denied.error().message().find("authentication failed: check username/password or api_key") == 0);
  CHECK_FALSE(denied.error().retryable());
  auto old = readHandshake({200, R"({"version":{"number":"7.17.9"}})"}, "http://es:9200");
  REQUIRE_FALSE(old.has_value());
  CHECK(old.error().message().find("needs 8.0 or later") != std::string::npos);
  auto busy = readHandshake({503, ""}, "http://es:9200");
  REQUIRE_FALSE(busy.has_value());
  CHECK(busy.error().retryable());
  auto ok = readHandshake({200, R"({"cluster_name":"c","version":{"number":"8.15.0"}})"}, "http://es:9200");
  REQUIRE(ok.has_value());
  CHECK(ok->version == "8.15.0");
  CHECK(ok->major == 8);
  CHECK(ok->clusterName == "c");
}

}  // namespace
}  // namespace fim::output::es
