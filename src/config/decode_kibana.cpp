// setup.kibana (where Kibana is, how to reach it) and setup.dashboards (what is imported there).

#include <algorithm>

#include "config/decode.h"

namespace fim::config {
namespace {

// Kibana's rule for space ids: lower-case letters, digits, '_' and '-'.
bool validSpaceId(const std::string& id) {
  return !id.empty() && std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

void normalisePath(std::string& path) {
  if (!path.empty() && path.front() != '/') path.insert(path.begin(), '/');
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (path == "/") path.clear();
}

void checkCredentials(MapReader& reader, KibanaConfig& out) {
  Diagnostics& diagnostics = reader.diagnostics();
  if (reader.has("api_key")) {
    const auto colon = out.apiKey.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == out.apiKey.size()) {
      diagnostics.error(reader.take("api_key")->origin, reader.keyPath("api_key"),
                        "must be \"id:api_key\" as Elasticsearch's create API key call returns them (the value is not shown)");
    }
    if (!out.username.empty()) {
      diagnostics.error(reader.take("api_key")->origin, reader.keyPath("api_key"),
                        "api_key and username/password are exclusive: configure one of them");
    }
  }
  if (!out.password.empty() && out.username.empty()) {
    diagnostics.error(reader.take("password")->origin, reader.keyPath("password"), "a password needs a username");
  }
}

void decodeKibana(MapReader& setup, KibanaConfig& out) {
  MapReader reader(setup.take("kibana"), "setup.kibana", setup.diagnostics());
  Diagnostics& diagnostics = reader.diagnostics();
  reader.string("host", out.host);
  if (const std::string problem = hostProblem(out.host); !problem.empty() && reader.has("host")) {
    diagnostics.error(reader.take("host")->origin, "setup.kibana.host", "\"" + out.host + "\" " + problem);
  }
  reader.oneOf("protocol", out.protocol, {"http", "https"});
  reader.string("path", out.path);
  normalisePath(out.path);
  MapReader space(reader.take("space"), "setup.kibana.space", diagnostics);
  space.string("id", out.spaceId);
  if (space.has("id") && !validSpaceId(out.spaceId)) {
    diagnostics.error(space.take("id")->origin, "setup.kibana.space.id",
                      "\"" + out.spaceId + "\" is not a Kibana space id (lower-case letters, digits, '_' and '-')");
  }
  space.finish();
  reader.string("username", out.username);
  reader.string("password", out.password);
  reader.string("api_key", out.apiKey);
  checkCredentials(reader, out);
  reader.stringMap("headers", out.headers);
  reader.duration("timeout", out.timeout);
  if (reader.has("timeout") && out.timeout.count() <= 0) {
    diagnostics.error(reader.take("timeout")->origin, "setup.kibana.timeout", "must be greater than 0");
  }
  reader.string("proxy_url", out.proxyUrl);
  if (reader.has("proxy_url") && out.proxyUrl.find("://") == std::string::npos) {
    diagnostics.error(reader.take("proxy_url")->origin, "setup.kibana.proxy_url",
                      "must be a URL such as http://proxy:3128 or socks5://proxy:1080");
  }
  reader.boolean("proxy_disable", out.proxyDisable);
  decodeSsl(reader, diagnostics, out.ssl);
  reader.notImplemented("service_token", "use api_key or username and password");
  reader.notImplemented("ignoreversion", "Kibana's version is always checked");
  reader.finish();
}

void decodeDashboards(MapReader& setup, const PathsConfig& paths, DashboardsConfig& out) {
  MapReader reader(setup.take("dashboards"), "setup.dashboards", setup.diagnostics());
  Diagnostics& diagnostics = reader.diagnostics();
  reader.boolean("enabled", out.enabled);
  out.directory = paths.home + "/kibana";
  reader.string("directory", out.directory);
  if (!out.directory.empty() && out.directory.front() != '/') out.directory = paths.home + "/" + out.directory;
  reader.string("index", out.index);
  if (reader.has("index") && (out.index.empty() || out.index.find_first_of(" \"\\<>|,#") != std::string::npos)) {
    diagnostics.error(reader.take("index")->origin, "setup.dashboards.index",
                      "\"" + out.index + "\" is not an index pattern such as logs-fim.event-*");
  }
  MapReader retry(reader.take("retry"), "setup.dashboards.retry", diagnostics);
  retry.boolean("enabled", out.retryEnabled);
  retry.duration("interval", out.retryInterval);
  if (retry.has("interval") && out.retryInterval.count() <= 0) {
    diagnostics.error(retry.take("interval")->origin, "setup.dashboards.retry.interval", "must be greater than 0");
  }
  retry.integer("maximum", out.retryMaximum, 0, 1'000'000);
  retry.finish();
  reader.stringMap("string_replacements", out.stringReplacements);
  for (const auto& [needle, replacement] : out.stringReplacements) {
    if (needle.empty()) diagnostics.error(reader.take("string_replacements")->origin, "setup.dashboards.string_replacements", "a needle must not be empty");
  }
  reader.boolean("only_dashboards", out.onlyDashboards);
  reader.boolean("only_index", out.onlyIndex);
  if (out.onlyDashboards && out.onlyIndex) {
    diagnostics.error(reader.take("only_index")->origin, "setup.dashboards.only_index",
                      "only_index and only_dashboards exclude each other: set one of them");
  }
  for (const char* key : {"file", "url", "beat"}) {
    reader.notImplemented(key, "dashboards are read from setup.dashboards.directory");
  }
  reader.notImplemented("kibana_index", "a legacy option of Kibana 5 and 6");
  reader.notImplemented("always_kibana", "a legacy option of Kibana 5 and 6");
  reader.finish();
}

}  // namespace

void decodeKibanaSetup(MapReader& setup, const Config& config, SetupConfig& out) {
  decodeKibana(setup, out.kibana);
  decodeDashboards(setup, config.paths, out.dashboards);
  // As Beats' InitKibanaConfig: without credentials of its own, Kibana gets the output's.
  KibanaConfig& kibana = out.kibana;
  const auto& es = config.output.elasticsearch;
  if (config.output.kind == OutputKind::Elasticsearch && kibana.username.empty() && kibana.apiKey.empty()) {
    kibana.username = es.username;
    kibana.password = es.password;
    kibana.apiKey = es.apiKey;
    kibana.credentialsFromOutput = !es.username.empty() || !es.apiKey.empty();
  }
}

}  // namespace fim::config
