#pragma once
// probeCloud: asks every configured provider's metadata service at once (libcurl multi, one
// thread) and returns the first valid answer, all within one total timeout.

#include <chrono>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "config/config.h"
#include "events/metadata.h"

namespace fim::enricher {

struct CloudProbeOptions {
  std::chrono::milliseconds timeout{3000};  // for everything, all providers together
  std::vector<std::string> providers;       // `providers:`; empty: all
  std::string host = "169.254.169.254";     // host[:port] of every provider's metadata service

  static CloudProbeOptions from(const config::CloudMetadataConfig& config);
};

struct CloudProbeResult {
  std::optional<events::CloudInfo> cloud;  // nullopt: no provider answered validly in time
  std::vector<std::string> failures;     // "gcp: GET /computeMetadata/...: HTTP 404", one per provider that failed
  std::chrono::milliseconds elapsed{0};
};

// Providers answer in parallel; a valid answer wins at once, except that one from another
// provider waits for aws while aws is still pending (OpenStack serves an EC2-style API too).
// Returns by the timeout (plus the time to close the connections) or soon after `stop`.
CloudProbeResult probeCloud(const CloudProbeOptions& options, std::stop_token stop = {});

}  // namespace fim::enricher
