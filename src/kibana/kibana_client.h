#pragma once
// KibanaClient: Kibana's status and saved objects import APIs over fimbeat's HttpClient, with
// setup.kibana's host, base path, space, credentials, headers, TLS and timeout.

#include <chrono>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "config/kibana_config.h"
#include "core/result.h"
#include "kibana/import_response.h"
#include "output/elasticsearch/http_client.h"

namespace fim::kibana {

// Waits between attempts to reach Kibana; false when the wait was interrupted (a stop signal).
using Pause = std::function<bool(std::chrono::nanoseconds)>;
// Sleeps for the whole interval.
bool sleepFor(std::chrono::nanoseconds interval);

// setup.kibana.host resolved against protocol and path; a host without a port is on 5601.
[[nodiscard]] core::Result<output::es::HostUrl> kibanaUrl(const config::KibanaConfig& config);

class KibanaClient {
 public:
  KibanaClient(output::es::HostUrl url, const config::KibanaConfig& config);

  // GET /api/status and the version check.
  [[nodiscard]] core::Result<KibanaStatus> status();
  // Asks status() until Kibana answers, as setup.dashboards.retry.* says (one line on `log` per
  // failed attempt); an answer that retrying cannot change (credentials, version) ends at once.
  [[nodiscard]] core::Result<KibanaStatus> waitForKibana(const config::DashboardsConfig& retry, std::ostream& log,
                                                         const Pause& pause = sleepFor);
  // POST the objects (one JSON line each) to the import API of the configured space, overwriting.
  [[nodiscard]] core::Result<ImportResult> importObjects(const std::vector<std::string>& lines);

  std::string base() const { return client_.url().base(); }

 private:
  const config::KibanaConfig& config_;
  output::es::HttpClient client_;
};

}  // namespace fim::kibana
