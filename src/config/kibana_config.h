#pragma once
// Typed settings of `setup.kibana` (where Kibana is) and `setup.dashboards` (what is imported there).

#include <chrono>
#include <map>
#include <string>

#include "config/output_config.h"

namespace fim::config {

// setup.kibana.*, with Beats' option names and defaults.
struct KibanaConfig {
  std::string host = "localhost:5601";  // [scheme://]host[:port][/path]; issue 19: cloud.id gives it too
  std::string protocol;                 // http or https for a host without a scheme; empty: http
  std::string path;                     // URL path prefix (Kibana's server.basePath), e.g. /kibana
  std::string spaceId;                  // space.id: objects go to /s/<space.id>/api/...
  std::string username;
  std::string password;  // secret
  std::string apiKey;    // secret, "id:key"
  bool credentialsFromOutput = false;  // username/password/api_key were taken from output.elasticsearch
  std::map<std::string, std::string> headers;
  std::chrono::nanoseconds timeout = std::chrono::seconds(90);
  std::string proxyUrl;
  bool proxyDisable = false;
  ElasticsearchSslConfig ssl;  // the same ssl.* options as the Elasticsearch output
};

// setup.dashboards.*, with Beats' option names and defaults.
struct DashboardsConfig {
  bool enabled = false;   // import at every `fimbeat run` start as well as with `fimbeat setup`
  std::string directory;  // default <path.home>/kibana
  std::string index;      // the data view's index pattern; default <data_stream.type>-<dataset>-*
  bool retryEnabled = false;
  std::chrono::nanoseconds retryInterval = std::chrono::seconds(1);
  int retryMaximum = 0;  // attempts after the first; 0: until Kibana answers
  std::map<std::string, std::string> stringReplacements;  // needle -> replacement in every object's text
  bool onlyDashboards = false;  // skip the data view
  bool onlyIndex = false;       // import the data view only
};

}  // namespace fim::config
