#pragma once
// FleetTransport: requests to Fleet Server with the headers it checks (design §1.2): Authorization
// ApiKey, User-Agent "Elastic Agent v<X.Y.Z>", Elastic-Api-Version, X-Request-ID (one per logical
// request, the same across hosts), kbn-xsrf; Accept-Encoding exactly "gzip". Several hosts: tried
// in turn on transport errors only (an HTTP status from a host is that host's answer). TLS and
// proxy from `fimbeat enroll` or the policy's `fleet` section (design §1.1).

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "config/output_config.h"
#include "core/result.h"
#include "management/fleet/fleet_state.h"
#include "output/elasticsearch/http_client.h"

namespace fim::management::fleet {

// How fimbeat reaches Fleet Server.
struct TransportSettings {
  std::vector<std::string> hosts;
  std::vector<std::string> certificateAuthorities;  // PEM files or inline PEM
  std::string certificate;                          // client certificate: PEM file or inline PEM
  std::string key;                                  // secret: its key
  config::SslVerificationMode verificationMode = config::SslVerificationMode::Full;
  std::string proxyUrl;                             // may carry user:password: never logged
  std::map<std::string, std::string> proxyHeaders;  // sent to the proxy only
  bool operator==(const TransportSettings&) const = default;
};

// The settings `fimbeat enroll` was given.
TransportSettings transportSettings(const Enrollment& enrollment);

inline constexpr const char* kApiVersion = "2023-06-01";
// The User-Agent version when neither fleet.agent_version nor the server's version is known.
inline constexpr const char* kDefaultAgentVersion = "8.13.0";

struct FleetResponse {
  int status = 0;
  std::string body;
  std::string errorName;  // the "error" of Fleet Server's error body, "" otherwise
  std::string message;    // its "message"
  std::optional<std::chrono::milliseconds> retryAfter;  // Retry-After (a proxy's; Fleet Server sends none)
};

class FleetTransport {
 public:
  FleetTransport(TransportSettings settings, std::string agentVersion);
  FleetTransport(const Enrollment& enrollment, std::string agentVersion)
      : FleetTransport(transportSettings(enrollment), std::move(agentVersion)) {}

  // `authorization`: the enrollment token or the access API key (base64 "id:key"), sent verbatim.
  [[nodiscard]] core::Result<FleetResponse> send(const std::string& method, const std::string& path,
                                                 const std::string& body, const std::string& authorization,
                                                 std::chrono::nanoseconds timeout, bool gzipBody = false,
                                                 std::stop_token stop = {});
  void setAgentVersion(std::string version) { agentVersion_ = std::move(version); }
  void configure(TransportSettings settings);  // from the next request on
  const TransportSettings& settings() const { return settings_; }
  const std::string& agentVersion() const { return agentVersion_; }
  // The server's major.minor.0 from an authenticated GET /api/status (design decision 2); "" if unknown.
  std::string serverVersion(const std::string& authorization, std::stop_token stop = {});

 private:
  TransportSettings settings_;
  std::vector<output::es::HostUrl> hosts_;
  output::es::HttpClientOptions options_;
  std::string agentVersion_;
  std::size_t current_ = 0;
};

// A random (version 4) UUID.
std::string newUuid();
// Up to `bytes` random bytes as URL-safe base64 (replace tokens).
std::string randomToken(std::size_t bytes);
// SHA-256 as hex.
std::string sha256Hex(const std::string& data);

}  // namespace fim::management::fleet
