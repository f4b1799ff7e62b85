// Index management calls (setup.template.*, setup.ilm.*) against an in-process HTTP server.

#include <mutex>
#include <thread>

#include <httplib.h>

#include <doctest/doctest.h>

#include "output/elasticsearch/index_setup.h"

namespace fim::output::es {
namespace {

// Stores templates and policies as Elasticsearch does; `refuse` answers 403 to every PUT.
class SetupServer {
 public:
  explicit SetupServer(bool refuse = false) {
    server_.Put(R"(/_ilm/policy/([^/]+))", [this, refuse](const httplib::Request& request, httplib::Response& response) {
      std::lock_guard lock(mutex_);
      calls_.push_back("PUT policy " + request.matches[1].str());
      if (refuse) return deny(response);
      policies_[request.matches[1]] = request.body;
      response.set_content(R"({"acknowledged":true})", "application/json");
    });
    server_.Put(R"(/_index_template/([^/]+))", [this, refuse](const httplib::Request& request, httplib::Response& response) {
      std::lock_guard lock(mutex_);
      calls_.push_back("PUT template " + request.matches[1].str());
      if (refuse) return deny(response);
      templates_[request.matches[1]] = request.body;
      response.set_content(R"({"acknowledged":true})", "application/json");
    });
    // cpp-httplib answers HEAD with the GET handler, without the body.
    server_.Get(R"(/_index_template/([^/]+))", [this](const httplib::Request& request, httplib::Response& response) {
      std::lock_guard lock(mutex_);
      calls_.push_back(request.method + " template " + request.matches[1].str());
      const bool found = templates_.count(request.matches[1]) > 0;
      response.status = found ? 200 : 404;
      response.set_content(found ? R"({"index_templates":[]})" : R"({"error":"missing"})", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~SetupServer() {
    while (!server_.is_running()) std::this_thread::yield();
    server_.stop();
    thread_.join();
  }

  HostUrl url() const { return HostUrl{"http", "127.0.0.1", port_, "", ""}; }
  std::vector<std::string> calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  std::map<std::string, std::string> templates() {
    std::lock_guard lock(mutex_);
    return templates_;
  }
  std::map<std::string, std::string> policies() {
    std::lock_guard lock(mutex_);
    return policies_;
  }

 private:
  static void deny(httplib::Response& response) {
    response.status = 403;
    response.set_content(R"({"error":{"type":"security_exception","reason":"action [indices:admin/index_template/put] is unauthorized"}})",
                         "application/json");
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::string> calls_;
  std::map<std::string, std::string> templates_;
  std::map<std::string, std::string> policies_;
};

IndexSetup setup() {
  IndexSetup s;
  s.templateName = "logs-fim.event";
  s.templateBody = R"({"index_patterns":["logs-fim.event-*"],"data_stream":{},"priority":150})";
  s.policyName = "fimbeat";
  s.policyBody = R"({"policy":{"phases":{"hot":{"actions":{}}}}})";
  return s;
}

TEST_CASE("the policy, then the template when it does not exist yet") {
  SetupServer server;
  config::ElasticsearchOutputConfig options;
  HttpClient client(server.url(), options);
  auto first = installIndexManagement(client, setup());
  REQUIRE_MESSAGE(first.has_value(), (first ? "" : first.error().message()));
  CHECK(server.calls() == std::vector<std::string>{"PUT policy fimbeat", "HEAD template logs-fim.event", "PUT template logs-fim.event"});
  CHECK(server.templates().at("logs-fim.event") == setup().templateBody);
  CHECK(server.policies().at("fimbeat") == setup().policyBody);
  CHECK(first->back() == "index template logs-fim.event: installed");

  auto second = installIndexManagement(client, setup());  // exists, overwrite off: kept
  REQUIRE(second.has_value());
  CHECK(server.calls().size() == 5);
  CHECK(server.calls().back() == "HEAD template logs-fim.event");
  CHECK(second->back().find("exists, kept") != std::string::npos);

  auto overwrite = setup();
  overwrite.overwrite = true;
  overwrite.ilmEnabled = false;
  REQUIRE(installIndexManagement(client, overwrite).has_value());  // no HEAD, no policy
  CHECK(server.calls().size() == 6);
  CHECK(server.calls().back() == "PUT template logs-fim.event");
}

TEST_CASE("a refused setup call says which privileges are missing") {
  SetupServer server(true);
  config::ElasticsearchOutputConfig options;
  HttpClient client(server.url(), options);
  auto refused = installIndexManagement(client, setup());
  REQUIRE_FALSE(refused.has_value());
  CHECK_FALSE(refused.error().retryable());
  CHECK(refused.error().message().find("installing ILM policy fimbeat: HTTP 403") == 0);
  CHECK(refused.error().message().find("manage_ilm") != std::string::npos);
}

}  // namespace
}  // namespace fim::output::es
