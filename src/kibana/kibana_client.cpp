#include "kibana/kibana_client.h"

#include <thread>

#include <fmt/format.h>

#include "kibana/import_request.h"

namespace fim::kibana {
namespace {

output::es::HttpClientOptions clientOptions(const config::KibanaConfig& config) {
  output::es::HttpClientOptions options;
  options.username = config.username;
  options.password = config.password;
  options.apiKey = config.apiKey;
  options.headers = config.headers;
  options.timeout = config.timeout;
  options.proxyUrl = config.proxyUrl;
  options.proxyDisable = config.proxyDisable;
  options.ssl = config.ssl;
  return options;
}

// Kibana refuses API writes without kbn-xsrf (any value); Beats send the same.
const std::map<std::string, std::string> kKibanaHeaders{{"kbn-xsrf", "fimbeat"}};

}  // namespace

bool sleepFor(std::chrono::nanoseconds interval) {
  std::this_thread::sleep_for(interval);  // setup.dashboards.retry.interval between attempts
  return true;
}

core::Result<output::es::HostUrl> kibanaUrl(const config::KibanaConfig& config) {
  auto url = output::es::parseHostUrl(config.host, config.protocol, config.path, 5601);
  if (!url) return std::unexpected(url.error().context("setup.kibana.host"));
  if (config.ssl.enabled && *config.ssl.enabled && config.host.find("://") == std::string::npos) url->scheme = "https";
  return url;
}

KibanaClient::KibanaClient(output::es::HostUrl url, const config::KibanaConfig& config)
    : config_(config), client_(std::move(url), clientOptions(config)) {}

core::Result<KibanaStatus> KibanaClient::status() {
  output::es::HttpRequest request{"GET", "/api/status"};
  request.headers = kKibanaHeaders;
  auto response = client_.send(request);
  if (!response) return std::unexpected(response.error());
  auto status = readStatus(*response);
  if (!status) return std::unexpected(status.error());
  if (auto version = checkVersion(*status); !version) return std::unexpected(version.error());
  return status;
}

core::Result<KibanaStatus> KibanaClient::waitForKibana(const config::DashboardsConfig& retry, std::ostream& log,
                                                       const Pause& pause) {
  for (int attempt = 1;; ++attempt) {
    auto answer = status();
    if (answer || !answer.error().retryable() || !retry.retryEnabled) return answer;
    if (retry.retryMaximum > 0 && attempt > retry.retryMaximum) {
      return std::unexpected(answer.error().context(fmt::format("Kibana did not answer in {} attempts", attempt)));
    }
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(retry.retryInterval);
    log << fmt::format("Kibana at {} is not ready ({}); trying again in {} ms (setup.dashboards.retry)\n", base(),
                       answer.error().message(), wait.count());
    log.flush();
    if (!pause(retry.retryInterval)) return std::unexpected(answer.error().context("stopped while waiting for Kibana"));
  }
}

core::Result<ImportResult> KibanaClient::importObjects(const std::vector<std::string>& lines) {
  const MultipartBody body = importBody(lines);
  output::es::HttpRequest request{"POST", importPath(config_.spaceId, true), body.body, body.contentType};
  request.headers = kKibanaHeaders;
  auto response = client_.send(request);
  if (!response) return std::unexpected(response.error().context("importing saved objects"));
  return readImportResponse(*response);
}

}  // namespace fim::kibana
