#pragma once
// HostUrl: one entry of output.elasticsearch.hosts, resolved against `protocol` and `path`.

#include <string>

#include "core/result.h"

namespace fim::output::es {

struct HostUrl {
  std::string scheme;  // http or https
  std::string host;    // name or address; IPv6 keeps its brackets
  int port = 9200;
  std::string path;    // prefix without a trailing '/', "" or "/es"
  std::string userinfo;  // "user:password" from the URL (secret); never part of base()

  // scheme://host:port/path, the base every request path is appended to.
  std::string base() const;
};

// "es:9200", "https://es", "http://user:pw@[::1]:9201/prefix"; a host without scheme takes `protocol`
// (default http), a host without path takes `pathPrefix`, a missing port is defaultPort (Kibana: 5601).
[[nodiscard]] core::Result<HostUrl> parseHostUrl(const std::string& text, const std::string& protocol,
                                                 const std::string& pathPrefix, int defaultPort = 9200);

}  // namespace fim::output::es
