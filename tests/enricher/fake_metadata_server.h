#pragma once
// Fake instance metadata services for the cloud probe tests: a cpp-httplib server on
// 127.0.0.1, port 0, that answers like each provider's documented endpoints.

#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include <httplib.h>

namespace fim::testing {

class FakeMetadataServer {
 public:
  FakeMetadataServer() { port_ = server_.bind_to_any_port("127.0.0.1"); }
  ~FakeMetadataServer() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  FakeMetadataServer(const FakeMetadataServer&) = delete;
  FakeMetadataServer& operator=(const FakeMetadataServer&) = delete;

  httplib::Server& routes() { return server_; }
  // Call after adding routes; the socket already listens, so clients may connect before.
  void start() {
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

  static constexpr const char* kToken = "AQAEAFakeImdsV2SessionToken==";

  // IMDSv2 in "required" mode: PUT for a token, the identity document only with it (401 without).
  void serveAws(const std::string& document) {
    server_.Put("/latest/api/token", [this](const httplib::Request& req, httplib::Response& res) {
      tokenRequests++;
      if (!req.has_header("X-aws-ec2-metadata-token-ttl-seconds")) {
        res.status = 400;
        return;
      }
      res.set_content(kToken, "text/plain");
    });
    server_.Get("/latest/dynamic/instance-identity/document", [document](const httplib::Request& req, httplib::Response& res) {
      if (req.get_header_value("X-aws-ec2-metadata-token") != kToken) {
        res.status = 401;
        return;
      }
      res.set_content(document, "text/plain");
    });
  }

  // GCE: only with `Metadata-Flavor: Google` (403 without), and says so in its answer.
  void serveGcp(const std::string& json) {
    server_.Get("/computeMetadata/v1/", [json](const httplib::Request& req, httplib::Response& res) {
      if (req.get_header_value("Metadata-Flavor") != "Google" || req.get_param_value("recursive") != "true") {
        res.status = 403;
        return;
      }
      res.set_header("Metadata-Flavor", "Google");
      res.set_content(json, "application/json");
    });
  }

  // Azure IMDS: only with `Metadata: true` and an api-version (400 without).
  void serveAzure(const std::string& json) {
    server_.Get("/metadata/instance/compute", [json](const httplib::Request& req, httplib::Response& res) {
      if (req.get_header_value("Metadata") != "true" || !req.has_param("api-version")) {
        res.status = 400;
        return;
      }
      res.set_content(json, "application/json");
    });
  }

  void serveDigitalOcean(const std::string& json) {
    server_.Get("/metadata/v1.json", [json](const httplib::Request&, httplib::Response& res) {
      res.set_content(json, "application/json");
    });
  }

  void serveText(const std::string& path, const std::string& value) {
    server_.Get(path, [value](const httplib::Request&, httplib::Response& res) { res.set_content(value, "text/plain"); });
  }

  std::atomic<int> tokenRequests{0};

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

// A TCP port on 127.0.0.1 that completes connections and never answers: a black hole.
class BlackHole {
 public:
  BlackHole() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 64);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~BlackHole() { ::close(fd_); }
  BlackHole(const BlackHole&) = delete;
  BlackHole& operator=(const BlackHole&) = delete;

  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace fim::testing
