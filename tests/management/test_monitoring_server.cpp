// The monitoring endpoint on port 0 (several test runs share this machine) and on a unix socket.

#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include <httplib.h>
#include <rapidjson/document.h>

#include "management/monitoring_server.h"
#include "support/temp_dir.h"

using namespace fim;

namespace {

struct Fixture {
  core::Metrics metrics;
  core::Health health;
  management::BeatStats stats{[] {
    management::BeatInfo info;
    info.name = "web-01";
    info.hostname = "web-01";
    info.uuid = "0b4a3e5c-1d2e-4f60-8a9b-0c1d2e3f4a5b";
    info.ephemeralId = "9f8e7d6c-5b4a-4392-8172-6a5b4c3d2e1f";
    info.version = "0.2.0";
    info.outputType = "file";
    return info;
  }(), metrics};
};

config::HttpConfig onPort(int port) {
  config::HttpConfig http;
  http.enabled = true;
  http.host = "127.0.0.1";
  http.port = port;
  return http;
}

int portOf(const std::string& address) { return std::stoi(address.substr(address.rfind(':') + 1)); }

rapidjson::Document parse(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str(), body.size());
  REQUIRE_FALSE(doc.HasParseError());
  return doc;
}

// One request over a unix socket (httplib 0.11's client speaks TCP only).
std::string unixRequest(const std::string& path, const std::string& target) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
  const std::string request = "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  REQUIRE(::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size()));
  std::string response;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) response.append(buffer, static_cast<std::size_t>(n));
  ::close(fd);
  return response;
}

}  // namespace

TEST_CASE("GET /, /stats, /state, /metrics and /health answer on an ephemeral port") {
  Fixture f;
  f.metrics.counter("output.events.acked").add(4);
  f.metrics.gauge(management::kModulesRunning).set(1);  // what the running Agent keeps
  auto server = management::MonitoringServer::start(onPort(0), f.stats, f.health);
  REQUIRE_MESSAGE(server.has_value(), (server ? "" : server.error().message()));
  const std::string address = (*server)->address();
  CHECK(address.starts_with("127.0.0.1:"));
  REQUIRE(portOf(address) > 0);
  httplib::Client client("127.0.0.1", portOf(address));

  auto root = client.Get("/");
  REQUIRE(root);
  CHECK(root->status == 200);
  CHECK(root->get_header_value("Content-Type").starts_with("application/json"));
  auto info = parse(root->body);
  for (const char* key : {"beat", "hostname", "name", "uuid", "version", "ephemeral_id"}) CHECK_MESSAGE(info.HasMember(key), key);
  CHECK(std::string(info["beat"].GetString()) == "fimbeat");

  auto stats = client.Get("/stats");
  REQUIRE(stats);
  CHECK(parse(stats->body)["libbeat"]["output"]["events"]["acked"].GetInt64() == 4);

  auto state = client.Get("/state");
  REQUIRE(state);
  auto stateDoc = parse(state->body);
  CHECK(std::string(stateDoc["output"]["name"].GetString()) == "file");
  CHECK(stateDoc["module"]["count"].GetInt() == 1);
  CHECK(std::string(stateDoc["module"]["names"][0].GetString()) == "file_integrity");

  auto prometheus = client.Get("/metrics");
  REQUIRE(prometheus);
  CHECK(prometheus->get_header_value("Content-Type").starts_with("text/plain; version=0.0.4"));
  CHECK(prometheus->body.find("fimbeat_output_events_acked_total 4\n") != std::string::npos);

  auto healthy = client.Get("/health");
  REQUIRE(healthy);
  CHECK(healthy->status == 200);
  CHECK(std::string(parse(healthy->body)["status"].GetString()) == "HEALTHY");

  CHECK(client.Get("/nothing-here")->status == 404);
  (*server)->stop();
  CHECK_FALSE(client.Get("/"));
}

TEST_CASE("/health is 503 with the reason when the agent is degraded or failed") {
  Fixture f;
  f.health.set(core::Health::kOutput, "write", core::HealthState::Degraded, "retrying: connection refused");
  auto server = management::MonitoringServer::start(onPort(0), f.stats, f.health);
  REQUIRE(server.has_value());
  httplib::Client client("127.0.0.1", portOf((*server)->address()));
  auto degraded = client.Get("/health");
  REQUIRE(degraded);
  CHECK(degraded->status == 503);
  auto doc = parse(degraded->body);
  CHECK(std::string(doc["status"].GetString()) == "DEGRADED");
  CHECK(std::string(doc["message"].GetString()) == "output: retrying: connection refused");
  CHECK(std::string(doc["units"]["output"]["status"].GetString()) == "DEGRADED");
  CHECK(client.Get("/health?failon=failed")->status == 200);  // a liveness probe's view
  f.health.set(core::Health::kQueue, "disk", core::HealthState::Failed, "disk full");
  CHECK(client.Get("/health?failon=failed")->status == 503);
}

TEST_CASE("methods other than GET get 405 and change nothing") {
  Fixture f;
  auto server = management::MonitoringServer::start(onPort(0), f.stats, f.health);
  REQUIRE(server.has_value());
  httplib::Client client("127.0.0.1", portOf((*server)->address()));
  for (const auto& result : {client.Post("/stats", "{}", "application/json"), client.Put("/", "x", "text/plain"),
                             client.Delete("/state"), client.Options("/health")}) {
    REQUIRE(result);
    CHECK(result->status == 405);
    CHECK(result->get_header_value("Allow") == "GET, HEAD");
  }
  CHECK(client.Head("/stats")->status == 200);
}

TEST_CASE("a port in use is a start-up error that names it") {
  Fixture f;
  auto first = management::MonitoringServer::start(onPort(0), f.stats, f.health);
  REQUIRE(first.has_value());
  const int port = portOf((*first)->address());
  auto second = management::MonitoringServer::start(onPort(port), f.stats, f.health);
  REQUIRE_FALSE(second.has_value());
  const std::string message = second.error().message();
  CHECK(message.find("http.port " + std::to_string(port)) != std::string::npos);
  CHECK(message.find("another process") != std::string::npos);
}

TEST_CASE("http.host unix:///path serves on a 0600 unix socket, replaces a stale one and removes it at stop") {
  Fixture f;
  testing::TempDir tmp;
  const std::string path = tmp.str() + "/monitoring.sock";
  config::HttpConfig http;
  http.enabled = true;
  http.host = "unix://" + path;
  for (int round = 0; round < 2; ++round) {  // the second round finds the first's socket file left behind
    auto server = management::MonitoringServer::start(http, f.stats, f.health);
    REQUIRE_MESSAGE(server.has_value(), (server ? "" : server.error().message()));
    CHECK((*server)->address() == path);
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 0777) == 0600u);
    const std::string response = unixRequest(path, "/");
    CHECK(response.starts_with("HTTP/1.1 200"));
    CHECK(response.find("\"beat\":\"fimbeat\"") != std::string::npos);
    CHECK_FALSE(management::MonitoringServer::start(http, f.stats, f.health).has_value());  // in use
    if (round == 0) {
      const int stale = ::socket(AF_UNIX, SOCK_STREAM, 0);  // keep a file that nobody listens on
      (*server)->stop();
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
      REQUIRE(::bind(stale, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
      ::close(stale);
    } else {
      (*server)->stop();
      CHECK_FALSE(std::filesystem::exists(path));
    }
  }
  tmp.write("plain-file", "x");
  http.host = "unix://" + tmp.str() + "/plain-file";
  auto refused = management::MonitoringServer::start(http, f.stats, f.health);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().message().find("is not a socket") != std::string::npos);
}
