#include "output/elasticsearch/host_url.h"

#include <charconv>

namespace fim::output::es {

std::string HostUrl::base() const { return scheme + "://" + host + ":" + std::to_string(port) + path; }

core::Result<HostUrl> parseHostUrl(const std::string& text, const std::string& protocol, const std::string& pathPrefix,
                                   int defaultPort) {
  HostUrl url;
  url.port = defaultPort;
  url.scheme = protocol.empty() ? "http" : protocol;
  std::string rest = text;
  if (const auto scheme = rest.find("://"); scheme != std::string::npos) {
    url.scheme = rest.substr(0, scheme);
    rest = rest.substr(scheme + 3);
  }
  if (url.scheme != "http" && url.scheme != "https") {
    return core::fail(core::ErrorCode::InvalidArgument, "host \"" + text + "\": scheme must be http or https");
  }
  std::string path = pathPrefix;
  if (const auto slash = rest.find('/'); slash != std::string::npos) {
    path = rest.substr(slash);
    rest = rest.substr(0, slash);
  }
  while (!path.empty() && path.back() == '/') path.pop_back();
  if (const auto at = rest.rfind('@'); at != std::string::npos) {
    url.userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
  }
  std::string port;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string::npos) return core::fail(core::ErrorCode::InvalidArgument, "host \"" + text + "\": unterminated IPv6 address");
    if (close + 1 < rest.size() && rest[close + 1] == ':') port = rest.substr(close + 2);
    rest = rest.substr(0, close + 1);
  } else if (const auto colon = rest.find(':'); colon != std::string::npos) {
    port = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) {
    return core::fail(core::ErrorCode::InvalidArgument, "host \"" + text + "\": expected [scheme://]host[:port][/path]");
  }
  url.host = rest;
  if (!port.empty()) {
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), url.port);
    if (ec != std::errc() || end != port.data() + port.size() || url.port < 1 || url.port > 65535) {
      return core::fail(core::ErrorCode::InvalidArgument, "host \"" + text + "\": invalid port \"" + port + "\"");
    }
  }
  url.path = path;
  return url;
}

}  // namespace fim::output::es
