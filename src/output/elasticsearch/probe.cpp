#include "output/elasticsearch/probe.h"

#include <algorithm>

#include <fmt/format.h>
#include <simdjson.h>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "output/elasticsearch/bulk_response.h"
#include "output/elasticsearch/es_connection.h"
#include "output/elasticsearch/http_client.h"

namespace fim::output::es {
namespace {

// The body of POST /_security/user/_has_privileges for creating documents in target.
std::string privilegesRequest(const std::string& target, bool setup) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  if (setup) {
    w.Key("cluster");
    w.StartArray();
    w.String("manage_index_templates");
    w.String("manage_ilm");
    w.EndArray();
  }
  w.Key("index");
  w.StartArray();
  w.StartObject();
  w.Key("names");
  w.StartArray();
  w.String(target.c_str());
  w.EndArray();
  w.Key("privileges");
  w.StartArray();
  w.String("create_doc");
  w.EndArray();
  w.EndObject();
  w.EndArray();
  w.EndObject();
  return buffer.GetString();
}

enum class Access { Granted, Unknown, Refused, NoAnswer };

// Whether the credentials may create documents in `target` (and run setup), by
// POST /_security/user/_has_privileges; `detail` says why when not Granted.
Access writeAccess(HttpClient& client, const std::string& target, bool setup, std::string& detail,
                   std::stop_token stop = {}) {
  auto privileges = client.send({"POST", "/_security/user/_has_privileges", privilegesRequest(target, setup)}, stop);
  if (!privileges) {
    detail = privileges.error().message();
    return Access::NoAnswer;
  }
  if (privileges->status == 401 || privileges->status == 403) {
    detail = "HTTP " + std::to_string(privileges->status) + ": " + describeErrorBody(privileges->body);
    return Access::Refused;
  }
  if (privileges->status != 200) {  // e.g. security disabled: anyone may write, nothing to check
    detail = "cannot check privileges (HTTP " + std::to_string(privileges->status) + ": " +
             describeErrorBody(privileges->body) + ")";
    return Access::Unknown;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  bool all = false;
  if (parser.parse(privileges->body).get(doc) != simdjson::SUCCESS ||
      doc["has_all_requested"].get(all) != simdjson::SUCCESS) {
    detail = "HTTP " + std::to_string(privileges->status) + ": " + describeErrorBody(privileges->body);
    return Access::Refused;
  }
  if (!all) {
    detail = "the user lacks create_doc on " + target +
             (setup ? " or the manage_index_templates/manage_ilm cluster privileges that setup needs" : "");
    return Access::Refused;
  }
  return Access::Granted;
}

// Checks one host; each step prints "  name... OK" or "  name... ERROR why".
bool probeHost(const std::string& text, const config::ElasticsearchOutputConfig& options, const std::string& target,
               bool setup, std::ostream& out) {
  out << "elasticsearch: " << text << "...\n";
  out << "  parse url... ";
  auto url = parseHostUrl(text, options.protocol, options.path);
  if (!url) {
    out << "ERROR " << url.error().message() << "\n";
    return false;
  }
  if (options.ssl.enabled && *options.ssl.enabled && text.find("://") == std::string::npos) url->scheme = "https";
  out << "OK (" << url->base() << ")\n";
  HttpClient client(*url, options);
  auto root = client.send({"GET", "/"});
  out << "  connection... ";
  if (!root && !client.lastFailureWasTls()) {
    out << "ERROR " << root.error().message() << "\n";
    return false;
  }
  out << "OK\n";
  if (url->scheme == "https") {
    out << "  TLS... ";
    if (!root) {
      out << "ERROR " << root.error().message() << "\n";
      return false;
    }
    out << (options.ssl.verificationMode == config::SslVerificationMode::None ? "WARN secure connection disabled (verification_mode: none)\n"
                                                                              : "OK\n");
  } else {
    out << "  TLS... WARN secure connection disabled (http)\n";
  }
  out << "  talk to server... ";
  auto info = readHandshake(*root, url->base());
  if (!info) {
    out << "ERROR " << info.error().message() << "\n";
    return false;
  }
  out << "OK\n  version: " << info->version << "\n";
  out << "  write permission on " << target << "... ";
  std::string detail;
  switch (writeAccess(client, target, setup, detail)) {
    case Access::Granted: out << "OK\n"; return true;
    case Access::Unknown: out << "UNKNOWN " << detail << "\n"; return true;
    case Access::Refused:
    case Access::NoAnswer: out << "ERROR " << detail << "\n"; return false;
  }
  return false;
}

}  // namespace

bool probeOutput(const config::ElasticsearchOutputConfig& options, const std::string& target, bool checkSetupPrivileges,
                 std::ostream& out) {
  bool ok = true;
  for (const auto& host : options.hosts) ok = probeHost(host, options, target, checkSetupPrivileges, out) && ok;
  return ok;
}

}  // namespace fim::output::es

namespace fim::output::es {

core::Result<std::size_t> verifyOutput(const config::ElasticsearchOutputConfig& options, const std::string& target,
                                       std::chrono::seconds timeout, std::stop_token stop) {
  config::ElasticsearchOutputConfig quick = options;
  quick.timeout = std::min<std::chrono::nanoseconds>(options.timeout, timeout);
  std::size_t answered = 0;
  for (const auto& text : options.hosts) {
    auto url = parseHostUrl(text, options.protocol, options.path);
    if (!url) return std::unexpected(url.error());
    if (options.ssl.enabled && *options.ssl.enabled && text.find("://") == std::string::npos) url->scheme = "https";
    HttpClient client(*url, quick);
    auto root = client.send({"GET", "/"}, stop);
    if (!root && client.lastFailureWasTls()) {
      return core::fail(core::ErrorCode::PermissionDenied,
                        fmt::format("the TLS connection to {} failed: {}", url->base(), root.error().message()));
    }
    if (!root) continue;  // not answering is not refusing: the output retries it
    auto info = readHandshake(*root, url->base());
    if (!info && !info.error().retryable()) return std::unexpected(info.error());
    if (!info) continue;
    std::string detail;
    const Access access = writeAccess(client, target, false, detail, stop);
    if (access == Access::Refused) {
      return core::fail(core::ErrorCode::PermissionDenied,
                        fmt::format("{} does not let these credentials write to {}: {}", url->base(), target, detail));
    }
    if (access != Access::NoAnswer) ++answered;
  }
  return answered;
}

}  // namespace fim::output::es
