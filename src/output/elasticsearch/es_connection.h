#pragma once
// Connection: one HttpClient per configured host, used round robin with failover. Each host is
// checked with `GET /` (auth, version) before its first request and after every failure.

#include <atomic>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <vector>

#include "config/output_config.h"
#include "core/result.h"
#include "output/elasticsearch/http_client.h"
#include "output/elasticsearch/index_setup.h"

namespace fim::output::es {

struct ServerInfo {
  std::string version;  // version.number
  int major = 0;
  std::string clusterName;
};

// Reads a `GET /` response. 401/403 and versions before 8.0 are non-retryable errors that say
// what to fix; anything else unexpected is retryable.
[[nodiscard]] core::Result<ServerInfo> readHandshake(const HttpResponse& response, const std::string& host);

// Runs the index management once for every connection of an output.
class SetupOnce {
 public:
  explicit SetupOnce(IndexSetup setup) : setup_(std::move(setup)) {}
  [[nodiscard]] core::Status ensure(HttpClient& client, std::stop_token stop);

 private:
  IndexSetup setup_;
  std::mutex mutex_;
  bool done_ = false;
};

class Connection {
 public:
  // setup may be null (setup.template.enabled and setup.ilm.enabled both false).
  Connection(const config::ElasticsearchOutputConfig& options, SetupOnce* setup);

  // Sends to the next host (round robin). A host that fails is reset and the error returned; the
  // next call tries the next host (failover).
  [[nodiscard]] core::Result<HttpResponse> send(const HttpRequest& request, std::stop_token stop);
  const std::string& lastHost() const { return lastHost_; }

 private:
  struct Host {
    std::unique_ptr<HttpClient> client;
    bool checked = false;
    bool connectedBefore = false;  // log the first connection at info, reconnections at debug
  };
  [[nodiscard]] core::Status check(Host& host, std::stop_token stop);

  const config::ElasticsearchOutputConfig& options_;
  SetupOnce* setup_;
  std::vector<Host> hosts_;
  std::size_t next_ = 0;
  std::string lastHost_;
};

}  // namespace fim::output::es
