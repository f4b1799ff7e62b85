#include "enricher/docker/docker_client.h"

#include <charconv>

#include <fmt/format.h>

#include "core/json_reader.h"

namespace fim::enricher {
namespace {

using mapper::processors::ContainerMetadata;
using core::stringAt;

constexpr std::chrono::seconds kRequestTimeout{10};  // Beats' dockerRequestTimeout

void readLabels(simdjson::dom::element object, std::map<std::string, std::string>& out) {
  simdjson::dom::object labels;
  if (object["Labels"].get_object().get(labels) != simdjson::SUCCESS) return;  // null: none
  for (auto [key, value] : labels) {
    std::string_view v;
    if (value.get_string().get(v) == simdjson::SUCCESS) out.emplace(std::string(key), std::string(v));
  }
}

// "1.43" → (1, 43)
std::optional<std::pair<int, int>> versionOf(std::string_view v) {
  const std::size_t dot = v.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  int major = 0, minor = 0;
  if (std::from_chars(v.data(), v.data() + dot, major).ec != std::errc() ||
      std::from_chars(v.data() + dot + 1, v.data() + v.size(), minor).ec != std::errc()) {
    return std::nullopt;
  }
  return std::pair{major, minor};
}

}  // namespace

core::Result<std::vector<ContainerMetadata>> parseContainerList(std::string_view json) {
  simdjson::dom::parser parser;
  auto doc = core::parseJson(parser, json, "Docker's container list");
  if (!doc) return std::unexpected(doc.error());
  simdjson::dom::array items;
  if (doc->get_array().get(items) != simdjson::SUCCESS) {
    return core::fail(core::ErrorCode::Parse, "Docker's container list is not a JSON array");
  }
  std::vector<ContainerMetadata> out;
  for (simdjson::dom::element item : items) {
    ContainerMetadata c;
    c.id = stringAt(item, "/Id");
    if (c.id.empty()) continue;
    simdjson::dom::array names;
    if (item["Names"].get_array().get(names) == simdjson::SUCCESS) {
      for (simdjson::dom::element name : names) {
        std::string_view n;
        if (name.get_string().get(n) != simdjson::SUCCESS) continue;
        c.name = std::string(n.starts_with('/') ? n.substr(1) : n);  // Beats: the first name, '/' stripped
        break;
      }
    }
    c.image = stringAt(item, "/Image");
    readLabels(item, c.labels);
    out.push_back(std::move(c));
  }
  return out;
}

core::Result<ContainerMetadata> parseContainerInspect(std::string_view json) {
  simdjson::dom::parser parser;
  auto doc = core::parseJson(parser, json, "Docker's container inspection");
  if (!doc) return std::unexpected(doc.error());
  ContainerMetadata c;
  c.id = stringAt(*doc, "/Id");
  if (c.id.empty()) return core::fail(core::ErrorCode::Parse, "Docker's container inspection has no Id");
  const std::string name = stringAt(*doc, "/Name");
  c.name = name.starts_with('/') ? name.substr(1) : name;
  simdjson::dom::element config;
  if ((*doc)["Config"].get(config) == simdjson::SUCCESS && config.is_object()) {
    c.image = stringAt(config, "/Image");  // the name it was created from; the top-level Image is the image id
    readLabels(config, c.labels);
  }
  return c;
}

core::Result<std::string> parseApiVersion(std::string_view json) {
  simdjson::dom::parser parser;
  auto doc = core::parseJson(parser, json, "Docker's version");
  if (!doc) return std::unexpected(doc.error());
  const std::string server = stringAt(*doc, "/ApiVersion");
  const auto theirs = versionOf(server);
  if (!theirs) return core::failf(core::ErrorCode::Parse, "Docker's version has no ApiVersion such as \"1.43\"");
  return *theirs < *versionOf(kDockerApiVersion) ? server : std::string(kDockerApiVersion);
}

core::Result<std::unique_ptr<DockerClient>> DockerClient::create(const config::DockerMetadataConfig& config) {
  output::es::HttpClientOptions options;
  options.timeout = kRequestTimeout;
  output::es::HostUrl url;
  url.scheme = "http";
  url.host = "localhost";  // unix socket: any host will do; Docker's client uses one too
  url.port = 80;
  const std::string& host = config.host;
  if (host.starts_with("unix://")) {
    options.unixSocket = host.substr(7);
    if (options.unixSocket.empty()) return core::fail(core::ErrorCode::InvalidArgument, "add_docker_metadata: host unix:// names no socket");
  } else {
    const bool tls = config.ssl.has_value() || host.starts_with("https://");
    std::string rest = host.substr(host.find("://") + 3);
    auto parsed = output::es::parseHostUrl((tls ? "https://" : "http://") + rest, "", "", 2375);
    if (!parsed) return std::unexpected(parsed.error().context("add_docker_metadata: host " + host));
    url = *parsed;
    if (config.ssl) {
      if (!config.ssl->certificateAuthority.empty()) options.ssl.certificateAuthorities = {config.ssl->certificateAuthority};
      options.ssl.certificate = config.ssl->certificate;
      options.ssl.key = config.ssl->key;
    }
  }
  return std::unique_ptr<DockerClient>(new DockerClient(std::make_unique<output::es::HttpClient>(url, std::move(options))));
}

core::Result<std::string> DockerClient::get(const std::string& path, std::stop_token stop, bool* notFound) {
  output::es::HttpRequest request;
  request.path = path;
  auto response = http_->send(request, stop);
  if (!response) return std::unexpected(response.error().context("GET " + path));
  if (notFound && response->status == 404) {
    *notFound = true;
    return std::string();
  }
  if (response->status != 200) {
    return core::failf(core::ErrorCode::Unavailable, "GET {}: HTTP {}: {}", path, response->status,
                       response->body.substr(0, 200));
  }
  return std::move(response->body);
}

core::Status DockerClient::negotiate(std::stop_token stop) {
  std::lock_guard lock(mutex_);
  auto body = get("/version", stop);
  if (!body) return std::unexpected(body.error());
  auto version = parseApiVersion(*body);
  if (!version) return std::unexpected(version.error());
  version_ = *version;
  return {};
}

core::Result<std::vector<ContainerMetadata>> DockerClient::list(std::stop_token stop) {
  std::lock_guard lock(mutex_);
  auto body = get("/v" + version_ + "/containers/json", stop);
  if (!body) return std::unexpected(body.error());
  return parseContainerList(*body);
}

core::Result<std::optional<ContainerMetadata>> DockerClient::inspect(const std::string& id, std::stop_token stop) {
  std::lock_guard lock(mutex_);
  bool notFound = false;
  auto body = get("/v" + version_ + "/containers/" + id + "/json", stop, &notFound);
  if (!body) return std::unexpected(body.error());
  if (notFound) return std::optional<ContainerMetadata>();
  auto container = parseContainerInspect(*body);
  if (!container) return std::unexpected(container.error());
  return std::optional<ContainerMetadata>(std::move(*container));
}

}  // namespace fim::enricher
