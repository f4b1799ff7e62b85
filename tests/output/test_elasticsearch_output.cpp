// ElasticsearchOutput against an in-process HTTP server that answers as Elasticsearch does.

#include <zlib.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

#include <httplib.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <simdjson.h>

#include <doctest/doctest.h>

#include "support/gzip.h"

#include "core/clock.h"
#include "core/metrics.h"
#include "core/base64.h"
#include "output/elasticsearch/elasticsearch_output.h"
#include "output/elasticsearch/http_client.h"

namespace fim::output::es {
namespace {

using namespace std::chrono_literals;

struct BulkItem {
  std::string index;
  std::string id;
  std::string doc;
};

// What the server answers to one bulk request: a whole-request status, or one status per item.
struct BulkReply {
  int status = 200;
  std::vector<int> items;  // empty with status 200: every item 201
};

std::vector<BulkItem> parseBulkBody(const std::string& body) {
  std::vector<BulkItem> items;
  simdjson::dom::parser parser;
  std::size_t start = 0;
  while (start < body.size()) {
    const auto actionEnd = body.find('\n', start);
    const auto docEnd = body.find('\n', actionEnd + 1);
    REQUIRE(docEnd != std::string::npos);
    simdjson::dom::element action;
    REQUIRE(parser.parse(body.substr(start, actionEnd - start)).get(action) == simdjson::SUCCESS);
    BulkItem item;
    std::string_view text;
    REQUIRE(action["create"]["_index"].get(text) == simdjson::SUCCESS);
    item.index = text;
    if (action["create"]["_id"].get(text) == simdjson::SUCCESS) item.id = text;
    item.doc = body.substr(actionEnd + 1, docEnd - actionEnd - 1);
    items.push_back(std::move(item));
    start = docEnd + 1;
  }
  return items;
}

std::string itemsResponse(const std::vector<int>& statuses) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("errors");
  w.Bool(std::any_of(statuses.begin(), statuses.end(), [](int s) { return s >= 300; }));
  w.Key("items");
  w.StartArray();
  for (int status : statuses) {
    w.StartObject();
    w.Key("create");
    w.StartObject();
    w.Key("status");
    w.Int(status);
    if (status >= 300) {
      w.Key("error");
      w.StartObject();
      w.Key("type");
      w.String(status == 409 ? "version_conflict_engine_exception" : status == 429 ? "es_rejected_execution_exception"
                                                                                   : "mapper_parsing_exception");
      w.Key("reason");
      w.String("scripted by the test");
      w.EndObject();
    }
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return buffer.GetString();
}

// An HTTP server on 127.0.0.1:<any port> with Elasticsearch's GET / and a scripted _bulk.
class TestServer {
 public:
  using Script = std::function<BulkReply(const std::vector<BulkItem>&, int requestNumber)>;

  explicit TestServer(Script script, std::string version = "8.15.0") : script_(std::move(script)) {
    server_.Get("/", [this, version](const httplib::Request& request, httplib::Response& response) {
      record(request);
      response.set_content(R"({"cluster_name":"test","version":{"number":")" + version + R"("}})", "application/json");
    });
    server_.Post("/_bulk", [this](const httplib::Request& request, httplib::Response& response) {
      record(request);
      // cpp-httplib built with zlib inflates gzip request bodies itself; inflate here when it did not.
      const bool gzipped = request.body.size() > 2 && request.body[0] == '\x1f' && request.body[1] == '\x8b';
      const std::string body = gzipped ? testing::gunzip(request.body) : request.body;
      auto items = parseBulkBody(body);
      BulkReply reply;
      {
        std::lock_guard lock(mutex_);
        reply = script_(items, static_cast<int>(bulks_.size()));
        bulks_.push_back(items);
        filterPaths_.push_back(request.get_param_value("filter_path"));
        for (std::size_t i = 0; i < items.size(); ++i) {
          const int status = reply.status != 200 ? reply.status : reply.items.empty() ? 201 : reply.items[i];
          if (status == 201) stored_.push_back(items[i]);
        }
      }
      response.status = reply.status;
      if (reply.status == 200) {
        if (reply.items.empty()) reply.items.assign(items.size(), 201);
        response.set_content(itemsResponse(reply.items), "application/json");
      } else {
        response.set_content(R"({"error":{"type":"scripted","reason":"whole request refused"}})", "application/json");
      }
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~TestServer() {
    while (!server_.is_running()) std::this_thread::yield();  // stop() before listen would be lost
    server_.stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<std::vector<BulkItem>> bulks() {
    std::lock_guard lock(mutex_);
    return bulks_;
  }
  std::vector<BulkItem> stored() {
    std::lock_guard lock(mutex_);
    return stored_;
  }
  std::vector<std::string> headers(const std::string& name) {
    std::lock_guard lock(mutex_);
    return headers_[name];
  }
  std::vector<std::string> filterPaths() {
    std::lock_guard lock(mutex_);
    return filterPaths_;
  }

 private:
  void record(const httplib::Request& request) {
    std::lock_guard lock(mutex_);
    for (const char* name : {"Authorization", "Content-Type", "Content-Encoding", "X-Team"}) {
      headers_[name].push_back(request.get_header_value(name));
    }
  }

  Script script_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::vector<BulkItem>> bulks_;
  std::vector<BulkItem> stored_;
  std::vector<std::string> filterPaths_;
  std::map<std::string, std::vector<std::string>> headers_;
};

config::ElasticsearchOutputConfig options(std::vector<std::string> hosts) {
  config::ElasticsearchOutputConfig o;
  o.hosts = std::move(hosts);
  o.backoffInit = 1ms;
  o.backoffMax = 4ms;
  o.compressionLevel = 0;
  return o;
}

std::vector<events::EncodedEvent> events(int n) {
  std::vector<events::EncodedEvent> out;
  for (int i = 0; i < n; ++i) {
    out.push_back({static_cast<std::uint64_t>(i + 1), "id-" + std::to_string(i), R"({"n":)" + std::to_string(i) + "}"});
  }
  return out;
}

struct Fixture {
  core::Metrics metrics;
  core::SystemClock clock;
  std::unique_ptr<ElasticsearchOutput> make(config::ElasticsearchOutputConfig o, std::string target = "logs-fim.event-default") {
    return std::make_unique<ElasticsearchOutput>(std::move(o), std::move(target), std::nullopt, metrics, clock);
  }
};

TEST_CASE_FIXTURE(Fixture, "every item ends in its bucket, only 429 and 5xx items are handed back, in order") {
  // Statuses by document number on the first request; the retried ones succeed the second time.
  const std::vector<int> first{201, 200, 409, 429, 400, 500, 503, 201};
  TestServer server([&](const std::vector<BulkItem>& items, int n) {
    return n == 0 ? BulkReply{200, first} : BulkReply{200, std::vector<int>(items.size(), 201)};
  });
  auto output = make(options({server.url()}));
  const auto batch = events(8);
  auto outcome = output->write(batch, {});
  REQUIRE_MESSAGE(outcome.has_value(), (outcome ? "" : outcome.error().message()));
  CHECK(outcome->acked == 3);
  CHECK(outcome->duplicates == 1);
  CHECK(outcome->dropped == 1);
  CHECK(outcome->deadLettered == 0);
  CHECK(outcome->retry == std::vector<std::size_t>{3, 5, 6});
  CHECK(server.bulks().size() == 1);  // the output never sends anything twice by itself
  const std::vector<events::EncodedEvent> again{batch[3], batch[5], batch[6]};
  auto second = output->write(again, {});
  REQUIRE(second.has_value());
  CHECK(second->acked == 3);
  CHECK(second->retry.empty());
  const auto bulks = server.bulks();
  REQUIRE(bulks.size() == 2);
  REQUIRE(bulks[1].size() == 3);
  CHECK(bulks[1][0].id == "id-3");
  CHECK(bulks[1][1].id == "id-5");
  CHECK(bulks[1][2].id == "id-6");
  CHECK(bulks[0][0].index == "logs-fim.event-default");
  CHECK(metrics.counter("output.events.toomany").value() == 1);
  CHECK(metrics.counter("output.events.retried").value() == 3);
  CHECK(metrics.gauge("output.events.active").value() == 0);
  CHECK(server.filterPaths().front() == "errors,items.*.error,items.*.status");
}

TEST_CASE_FIXTURE(Fixture, "refused items go to the dead letter index with the reason") {
  TestServer server([](const std::vector<BulkItem>& items, int) {
    std::vector<int> statuses;
    for (const auto& item : items) statuses.push_back(item.index == "fim-dlq" || item.id != "id-1" ? 201 : 400);
    return BulkReply{200, statuses};
  });
  auto o = options({server.url()});
  o.nonIndexablePolicy = config::NonIndexablePolicy::DeadLetterIndex;
  o.deadLetterIndex = "fim-dlq";
  auto output = make(o);
  const auto batch = events(3);
  auto outcome = output->write(batch, {});
  REQUIRE(outcome.has_value());
  CHECK(outcome->acked == 2);
  CHECK(outcome->deadLettered == 1);
  const auto bulks = server.bulks();
  REQUIRE(bulks.size() == 2);
  REQUIRE(bulks[1].size() == 1);
  CHECK(bulks[1][0].index == "fim-dlq");
  CHECK(bulks[1][0].id == "id-1");
  simdjson::dom::parser parser;
  simdjson::dom::element letter;
  REQUIRE(parser.parse(bulks[1][0].doc).get(letter) == simdjson::SUCCESS);
  CHECK(std::string_view(letter["message"]) == batch[1].json);
  CHECK(std::string_view(letter["error"]["type"]) == "mapper_parsing_exception");
}

TEST_CASE_FIXTURE(Fixture, "413 splits the batch in halves until it fits, one event over the limit is non-indexable") {
  TestServer server([](const std::vector<BulkItem>& items, int) {
    const bool huge = std::any_of(items.begin(), items.end(), [](const BulkItem& i) { return i.doc.size() > 1000; });
    return items.size() > 2 || huge ? BulkReply{413, {}} : BulkReply{};
  });
  auto output = make(options({server.url()}));
  auto batch = events(7);
  batch[4].json = R"({"big":")" + std::string(2000, 'x') + R"("})";
  auto outcome = output->write(batch, {});
  REQUIRE(outcome.has_value());
  CHECK(outcome->acked == 6);
  CHECK(outcome->dropped == 1);
  std::set<std::string> ids;
  for (const auto& item : server.stored()) ids.insert(item.id);
  CHECK(ids == std::set<std::string>{"id-0", "id-1", "id-2", "id-3", "id-5", "id-6"});
}

TEST_CASE_FIXTURE(Fixture, "a whole request answered 503 or 429 fails the write with the cause, sending nothing twice") {
  for (int status : {503, 429}) {
    CAPTURE(status);
    TestServer server([status](const std::vector<BulkItem>&, int) { return BulkReply{status, {}}; });
    auto output = make(options({server.url()}));
    const auto batch = events(4);
    auto outcome = output->write(batch, {});
    REQUIRE_FALSE(outcome.has_value());
    CHECK(outcome.error().retryable());
    CHECK(outcome.error().message().find("HTTP " + std::to_string(status)) != std::string::npos);
    CHECK(server.bulks().size() == 1);
  }
  CHECK(metrics.counter("output.events.toomany").value() == 4);
}

TEST_CASE_FIXTURE(Fixture, "when one request of a write fails whole, its events are handed back and the rest delivered") {
  TestServer server([](const std::vector<BulkItem>& items, int) {
    return items.front().id == "id-2" ? BulkReply{503, {}} : BulkReply{};
  });
  auto o = options({server.url()});
  o.bulkMaxSize = 2;
  auto output = make(o);
  const auto batch = events(6);
  auto outcome = output->write(batch, {});
  REQUIRE(outcome.has_value());
  CHECK(outcome->acked == 4);
  CHECK(outcome->retry == std::vector<std::size_t>{2, 3});
}

TEST_CASE_FIXTURE(Fixture, "a failing host fails over to the next one") {
  TestServer broken([](const std::vector<BulkItem>&, int) { return BulkReply{503, {}}; });
  TestServer healthy([](const std::vector<BulkItem>&, int) { return BulkReply{}; });
  auto o = options({broken.url(), healthy.url()});
  o.bulkMaxSize = 2;
  auto output = make(o);
  std::vector<events::EncodedEvent> left = events(6);
  std::size_t acked = 0;
  for (int attempt = 0; attempt < 10 && !left.empty(); ++attempt) {  // as the OutputWorker sends them again
    auto outcome = output->write(left, {});
    if (!outcome) continue;
    acked += outcome->acked;
    std::vector<events::EncodedEvent> again;
    for (const std::size_t i : outcome->retry) again.push_back(left[i]);
    left = std::move(again);
  }
  CHECK(left.empty());
  CHECK(acked == 6);
  CHECK(healthy.stored().size() == 6);
  CHECK(broken.stored().empty());
}

TEST_CASE_FIXTURE(Fixture, "bulk_max_size chunks go over `worker` connections") {
  TestServer server([](const std::vector<BulkItem>&, int) { return BulkReply{}; });
  auto o = options({server.url()});
  o.bulkMaxSize = 10;
  o.worker = 3;
  auto output = make(o);
  const auto batch = events(95);
  auto outcome = output->write(batch, {});
  REQUIRE(outcome.has_value());
  CHECK(outcome->acked == 95);
  const auto bulks = server.bulks();
  CHECK(bulks.size() == 10);
  for (const auto& bulk : bulks) CHECK(bulk.size() <= 10);
  CHECK(server.stored().size() == 95);
}

TEST_CASE_FIXTURE(Fixture, "gzip, api key and custom headers are sent") {
  TestServer server([](const std::vector<BulkItem>&, int) { return BulkReply{}; });
  auto o = options({server.url()});
  o.compressionLevel = 1;
  o.apiKey = "key-id:s3cret";
  o.headers["X-Team"] = "fim";
  auto output = make(o);
  const auto batch = events(3);
  REQUIRE(output->write(batch, {}).has_value());
  CHECK(server.stored().size() == 3);
  CHECK(server.headers("Authorization").back() == "ApiKey " + core::base64("key-id:s3cret"));
  CHECK(server.headers("Content-Encoding").back() == "gzip");
  CHECK(server.headers("Content-Type").back() == "application/x-ndjson");
  CHECK(server.headers("X-Team").back() == "fim");
}

TEST_CASE_FIXTURE(Fixture, "a server older than 8.0 is refused before any bulk request") {
  TestServer server([](const std::vector<BulkItem>&, int) { return BulkReply{}; }, "7.17.0");
  auto output = make(options({server.url()}));
  const auto batch = events(1);
  auto outcome = output->write(batch, {});
  REQUIRE_FALSE(outcome.has_value());
  CHECK(outcome.error().message().find("needs 8.0 or later") != std::string::npos);
  CHECK(server.bulks().empty());
}

TEST_CASE_FIXTURE(Fixture, "401 and 403 on a bulk request fail the write at once with the cause") {
  for (int status : {401, 403}) {
    CAPTURE(status);
    TestServer server([status](const std::vector<BulkItem>&, int) { return BulkReply{status, {}}; });
    auto output = make(options({server.url()}));
    const auto batch = events(2);
    auto outcome = output->write(batch, {});
    REQUIRE_FALSE(outcome.has_value());
    CHECK_FALSE(outcome.error().retryable());
    const std::string cause = status == 401 ? "authentication failed: check username/password or api_key"
                                            : "not authorized: the user needs the create_doc privilege on logs-fim.event-default";
    CHECK(outcome.error().message().find(cause) == 0);
    CHECK(server.bulks().size() == 1);  // not retried inside the output: the events stay with the caller
  }
}

TEST_CASE_FIXTURE(Fixture, "connection refused is a retryable error that names the host") {
  std::string url;
  {
    TestServer gone([](const std::vector<BulkItem>&, int) { return BulkReply{}; });
    url = gone.url();
  }
  auto output = make(options({url}));
  const auto batch = events(1);
  auto outcome = output->write(batch, {});
  REQUIRE_FALSE(outcome.has_value());
  CHECK(outcome.error().retryable());
  CHECK(outcome.error().message().find(url) != std::string::npos);
}

}  // namespace
}  // namespace fim::output::es
