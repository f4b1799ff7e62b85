#include "output/elasticsearch/es_connection.h"

#include <simdjson.h>

#include <charconv>

#include <fmt/format.h>

#include "core/logging.h"
#include "output/elasticsearch/bulk_response.h"

namespace fim::output::es {

core::Result<ServerInfo> readHandshake(const HttpResponse& response, const std::string& host) {
  if (response.status == 401 || response.status == 403) {
    return core::fail(core::ErrorCode::PermissionDenied,
                      fmt::format("authentication failed: check username/password or api_key ({} answered HTTP {}: {})",
                                  host, response.status, describeErrorBody(response.body)));
  }
  if (response.status != 200) {
    return core::fail(core::ErrorCode::Unavailable,
                      fmt::format("{} answered GET / with HTTP {}: {}", host, response.status, describeErrorBody(response.body)),
                      true);
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view number;
  if (parser.parse(response.body).get(root) != simdjson::SUCCESS || root["version"]["number"].get(number) != simdjson::SUCCESS) {
    return core::fail(core::ErrorCode::Unavailable,
                      fmt::format("{} does not look like Elasticsearch: GET / has no version.number", host), true);
  }
  ServerInfo info;
  info.version = number;
  std::string_view cluster;
  if (root["cluster_name"].get(cluster) == simdjson::SUCCESS) info.clusterName = cluster;
  const auto dot = number.find('.');
  const auto majorText = number.substr(0, dot);
  if (std::from_chars(majorText.data(), majorText.data() + majorText.size(), info.major).ec != std::errc()) {
    return core::fail(core::ErrorCode::Unavailable, fmt::format("{}: unreadable version \"{}\"", host, number), true);
  }
  if (info.major < 8) {
    return core::fail(core::ErrorCode::InvalidArgument,
                      fmt::format("{} runs Elasticsearch {}: fimbeat writes to data streams and needs 8.0 or later", host,
                                  number));
  }
  return info;
}

core::Status SetupOnce::ensure(HttpClient& client, std::stop_token stop) {
  std::lock_guard lock(mutex_);
  if (done_) return {};
  auto steps = installIndexManagement(client, setup_, stop);
  if (!steps) return std::unexpected(steps.error());
  for (const auto& step : *steps) core::logger("output").info("index management: {}", step);
  done_ = true;
  return {};
}

Connection::Connection(const config::ElasticsearchOutputConfig& options, SetupOnce* setup) : options_(options), setup_(setup) {
  for (const auto& text : options.hosts) {
    auto url = parseHostUrl(text, options.protocol, options.path);
    if (!url) continue;  // validated with the config
    if (options.ssl.enabled && *options.ssl.enabled && url->scheme == "http" && text.find("://") == std::string::npos) {
      url->scheme = "https";  // ssl.enabled: true on a host without scheme
    }
    hosts_.push_back(Host{std::make_unique<HttpClient>(std::move(*url), options), false, false});
  }
}

core::Status Connection::check(Host& host, std::stop_token stop) {
  if (host.checked) return {};
  auto response = host.client->send({"GET", "/"}, stop);
  if (!response) return std::unexpected(response.error());
  auto info = readHandshake(*response, host.client->url().base());
  if (!info) return std::unexpected(info.error());
  auto& log = core::logger("output");
  const std::string cluster = info->clusterName.empty() ? "" : " (cluster " + info->clusterName + ")";
  if (host.connectedBefore) {
    log.debug("reconnected to Elasticsearch {} at {}{}", info->version, host.client->url().base(), cluster);
  } else {
    log.info("connected to Elasticsearch {} at {}{}", info->version, host.client->url().base(), cluster);
  }
  host.connectedBefore = true;
  if (setup_) {
    if (auto installed = setup_->ensure(*host.client, stop); !installed) return installed;
  }
  host.checked = true;
  return {};
}

core::Result<HttpResponse> Connection::send(const HttpRequest& request, std::stop_token stop) {
  if (hosts_.empty()) return core::fail(core::ErrorCode::InvalidArgument, "output.elasticsearch.hosts: no usable host");
  Host& host = hosts_[next_ % hosts_.size()];
  next_ = (next_ + 1) % hosts_.size();
  lastHost_ = host.client->url().base();
  auto checked = check(host, stop);
  auto response = checked ? host.client->send(request, stop) : core::Result<HttpResponse>(std::unexpected(checked.error()));
  if (!response || response->status >= 500 || response->status == 429) {
    host.client->reset();  // reconnect, and check the host again before its next request
    host.checked = false;
  }
  return response;
}

}  // namespace fim::output::es
