#include "management/fleet/fleet_settings.h"

#include <fmt/format.h>
#include <simdjson.h>

namespace fim::management::fleet {
namespace {

using simdjson::dom::element;

core::Result<std::string> stringAt(element section, const char* key, const char* name) {
  element value;
  if (section[key].get(value) != simdjson::SUCCESS || value.is_null()) return std::string();
  std::string_view text;
  if (value.get(text) != simdjson::SUCCESS) return core::failf(core::ErrorCode::InvalidArgument, "{} must be a string", name);
  return std::string(text);
}

core::Result<std::vector<std::string>> stringsAt(element section, const char* key, const char* name) {
  std::vector<std::string> out;
  element value;
  if (section[key].get(value) != simdjson::SUCCESS || value.is_null()) return out;
  std::string_view one;
  if (value.get(one) == simdjson::SUCCESS) {  // a single value where a list is expected, as beats allows
    out.emplace_back(one);
    return out;
  }
  simdjson::dom::array array;
  if (value.get(array) != simdjson::SUCCESS) {
    return core::failf(core::ErrorCode::InvalidArgument, "{} must be a list of strings", name);
  }
  for (auto item : array) {
    if (item.get(one) != simdjson::SUCCESS) return core::failf(core::ErrorCode::InvalidArgument, "{} must be a list of strings", name);
    if (!one.empty()) out.emplace_back(one);
  }
  return out;
}

core::Status checkProxyUrl(const std::string& url) {
  if (url.empty()) return {};
  const auto scheme = url.substr(0, url.find("://"));
  if (url.find("://") == std::string::npos ||
      (scheme != "http" && scheme != "https" && scheme != "socks5" && scheme != "socks5h")) {
    return core::fail(core::ErrorCode::InvalidArgument,
                      "fleet.proxy_url must be a URL with scheme http, https, socks5 or socks5h");
  }
  return {};
}

core::Status readSsl(element fleet, PolicyFleetSection& out) {
  element ssl;
  if (fleet["ssl"].get(ssl) != simdjson::SUCCESS || ssl.is_null()) return {};
  if (!ssl.is_object()) return core::fail(core::ErrorCode::InvalidArgument, "fleet.ssl must be an object");
  auto cas = stringsAt(ssl, "certificate_authorities", "fleet.ssl.certificate_authorities");
  if (!cas) return std::unexpected(cas.error());
  out.certificateAuthorities = std::move(*cas);
  auto certificate = stringAt(ssl, "certificate", "fleet.ssl.certificate");
  auto key = stringAt(ssl, "key", "fleet.ssl.key");
  auto mode = stringAt(ssl, "verification_mode", "fleet.ssl.verification_mode");
  for (const auto* r : {&certificate, &key, &mode}) {
    if (!*r) return std::unexpected(r->error());
  }
  out.certificate = std::move(*certificate);
  out.key = std::move(*key);
  if (out.certificate.empty() != out.key.empty()) {
    return core::fail(core::ErrorCode::InvalidArgument, "fleet.ssl.certificate and fleet.ssl.key must be set together");
  }
  if (*mode == "full") {
    out.verificationMode = config::SslVerificationMode::Full;
  } else if (*mode == "strict") {
    out.verificationMode = config::SslVerificationMode::Strict;
  } else if (*mode == "certificate") {
    out.verificationMode = config::SslVerificationMode::Certificate;
  } else if (*mode == "none") {
    out.verificationMode = config::SslVerificationMode::None;
  } else if (!mode->empty()) {  // Kibana sends "" for "not set"
    return core::failf(core::ErrorCode::InvalidArgument,
                       "fleet.ssl.verification_mode \"{}\" is not one of full, strict, certificate, none", *mode);
  }
  return {};
}

}  // namespace

core::Result<PolicyFleetSection> policyFleetSection(const std::string& policyJson) {
  PolicyFleetSection out;
  simdjson::dom::parser parser;
  element root, fleet;
  if (parser.parse(policyJson).get(root) != simdjson::SUCCESS) {
    return core::fail(core::ErrorCode::Parse, "the policy is not valid JSON");
  }
  if (root["fleet"].get(fleet) != simdjson::SUCCESS || fleet.is_null()) return out;
  if (!fleet.is_object()) return core::fail(core::ErrorCode::InvalidArgument, "fleet must be an object");
  auto hosts = stringsAt(fleet, "hosts", "fleet.hosts");
  if (!hosts) return std::unexpected(hosts.error());
  out.hosts = std::move(*hosts);
  auto proxy = stringAt(fleet, "proxy_url", "fleet.proxy_url");
  if (!proxy) return std::unexpected(proxy.error());
  if (auto ok = checkProxyUrl(*proxy); !ok) return std::unexpected(ok.error());
  out.proxyUrl = std::move(*proxy);
  element headers;
  if (fleet["proxy_headers"].get(headers) == simdjson::SUCCESS && !headers.is_null()) {
    simdjson::dom::object map;
    if (headers.get(map) != simdjson::SUCCESS) {
      return core::fail(core::ErrorCode::InvalidArgument, "fleet.proxy_headers must be an object of header names and values");
    }
    for (auto [name, value] : map) {
      std::string text;
      std::string_view s;
      if (value.get(s) == simdjson::SUCCESS) {
        text = s;
      } else if (value.is_number() || value.is_bool()) {
        text = simdjson::minify(value);
      } else {
        return core::failf(core::ErrorCode::InvalidArgument, "fleet.proxy_headers.{} must be a string", name);
      }
      if (name.empty() || name.find_first_of(":\r\n ") != std::string_view::npos || text.find_first_of("\r\n") != std::string::npos) {
        return core::failf(core::ErrorCode::InvalidArgument, "fleet.proxy_headers: \"{}\" is not a valid header", name);
      }
      out.proxyHeaders.emplace(std::string(name), std::move(text));
    }
  }
  if (auto ok = readSsl(fleet, out); !ok) return std::unexpected(ok.error());
  return out;
}

TransportSettings effectiveSettings(const Enrollment& enrollment, const PolicyFleetSection& policy) {
  TransportSettings out = transportSettings(enrollment);
  if (!policy.hosts.empty()) out.hosts = policy.hosts;
  if (!policy.proxyUrl.empty()) {
    out.proxyUrl = policy.proxyUrl;
    out.proxyHeaders = policy.proxyHeaders;
  }
  if (!policy.certificateAuthorities.empty()) out.certificateAuthorities = policy.certificateAuthorities;
  if (!policy.certificate.empty()) {
    out.certificate = policy.certificate;
    out.key = policy.key;
  }
  // verification_mode is checked but not applied, as in Elastic Agent: a policy cannot turn off
  // the verification of Fleet Server's certificate (nor turn on what `enroll --insecure` chose).
  return out;
}

TransportSettings effectiveSettings(const FleetState& state) {
  if (!state.good) return transportSettings(state.enrollment);
  auto section = policyFleetSection(state.good->json);
  return effectiveSettings(state.enrollment, section ? *section : PolicyFleetSection{});
}

}  // namespace fim::management::fleet
