// The output section: exactly one of output.file, output.console, output.elasticsearch enabled.

#include <algorithm>
#include <cctype>
#include <charconv>

#include "config/decode.h"
#include "config/index_format.h"

namespace fim::config {
namespace {

const std::vector<std::string> kSupported{"elasticsearch", "file", "console"};
const std::vector<std::string> kOtherBeatsOutputs{"logstash", "kafka", "redis", "discard"};

bool enabledFlag(const Node& section) {
  const Node* enabled = section.get("enabled");
  if (!enabled || !enabled->isScalar()) return true;
  const std::string& v = enabled->scalar;
  return !(v == "false" || v == "no" || v == "off" || v == "False" || v == "FALSE");
}

void decodeFile(const Node& node, const PathsConfig& paths, Diagnostics& diagnostics, FileOutputConfig& out) {
  MapReader reader(&node, "output.file", diagnostics);
  bool enabled = true;
  reader.boolean("enabled", enabled);
  out.path = paths.data + "/events";
  reader.string("path", out.path);
  reader.string("filename", out.filename);
  if (out.filename.empty() || out.filename.find('/') != std::string::npos) {
    diagnostics.error(node.origin, "output.file.filename", "must be a plain file name without '/'");
  }
  std::int64_t rotate = static_cast<std::int64_t>(out.rotateEveryKb);
  reader.integer("rotate_every_kb", rotate, 1, std::int64_t{1} << 40);
  out.rotateEveryKb = static_cast<std::uint64_t>(rotate);
  reader.integer("number_of_files", out.numberOfFiles, 2, 1024);
  reader.fileMode("permissions", out.permissions);
  reader.boolean("rotate_on_startup", out.rotateOnStartup);
  reader.notImplemented("codec", "events are always written as JSON");
  reader.finish();
}

void decodeConsole(const Node& node, Diagnostics& diagnostics, ConsoleOutputConfig& out) {
  MapReader reader(&node, "output.console", diagnostics);
  bool enabled = true;
  reader.boolean("enabled", enabled);
  reader.boolean("pretty", out.pretty);
  reader.notImplemented("codec", "events are always written as JSON");
  reader.notImplemented("bulk_max_size", "the console writes every event as it comes");
  reader.finish();
}

}  // namespace

// A host as beats accepts it: [scheme://][user@]host[:port][/path]; scheme http or https.
std::string hostProblem(const std::string& host) {
  if (host.empty()) return "must not be empty";
  std::string rest = host;
  if (const auto scheme = rest.find("://"); scheme != std::string::npos) {
    const std::string name = rest.substr(0, scheme);
    if (name != "http" && name != "https") return "scheme \"" + name + "\" is not http or https";
    rest = rest.substr(scheme + 3);
  }
  rest = rest.substr(0, rest.find('/'));
  if (rest.empty()) return "has no host name";
  if (const auto at = rest.rfind('@'); at != std::string::npos) rest = rest.substr(at + 1);  // user:password@
  if (rest.empty()) return "has no host name";
  std::string port;
  if (rest.front() == '[') {  // [::1]:9200
    const auto close = rest.find(']');
    if (close == std::string::npos) return "has an unterminated IPv6 address";
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') return "has text after the IPv6 address";
      port = rest.substr(close + 2);
      if (port.empty()) return "has an empty port";
    }
  } else if (const auto colon = rest.find(':'); colon != std::string::npos) {
    port = rest.substr(colon + 1);
    if (port.empty()) return "has an empty port";
  }
  if (!port.empty()) {
    int value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value < 1 || value > 65535) {
      return "port \"" + port + "\" is not a number between 1 and 65535";
    }
  }
  return "";
}

void decodeSsl(MapReader& parent, Diagnostics& diagnostics, ElasticsearchSslConfig& out) {
  MapReader reader(parent.take("ssl"), parent.keyPath("ssl"), diagnostics);
  if (reader.has("enabled")) {
    bool enabled = true;
    reader.boolean("enabled", enabled);
    out.enabled = enabled;
  }
  reader.strings("certificate_authorities", out.certificateAuthorities);
  std::string mode = "full";
  reader.oneOf("verification_mode", mode, {"full", "strict", "certificate", "none"});
  if (mode == "strict") out.verificationMode = SslVerificationMode::Strict;
  if (mode == "certificate") out.verificationMode = SslVerificationMode::Certificate;
  if (mode == "none") out.verificationMode = SslVerificationMode::None;
  reader.string("certificate", out.certificate);
  reader.string("key", out.key);
  reader.string("key_passphrase", out.keyPassphrase);
  if (out.certificate.empty() != out.key.empty()) {
    const char* missing = out.certificate.empty() ? "certificate" : "key";
    diagnostics.error(reader.take(out.certificate.empty() ? "key" : "certificate")->origin, reader.keyPath(missing),
                      "ssl.certificate and ssl.key go together: set both or neither");
  }
  reader.string("ca_trusted_fingerprint", out.caTrustedFingerprint);
  if (reader.has("ca_trusted_fingerprint")) {
    std::string hex;
    for (char c : out.caTrustedFingerprint) {
      if (c != ':') hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
      diagnostics.error(reader.take("ca_trusted_fingerprint")->origin, reader.keyPath("ca_trusted_fingerprint"),
                        "must be the SHA-256 fingerprint of a CA certificate: 64 hex digits (colons allowed)");
    } else {
      out.caTrustedFingerprint = hex;
    }
  }
  for (const char* key : {"supported_protocols", "cipher_suites", "curve_types", "renegotiation", "ca_sha256"}) {
    reader.notImplemented(key, "fimbeat uses OpenSSL's defaults (TLS 1.2 and later)");
  }
  reader.finish();
}

namespace {

void decodeNonIndexablePolicy(MapReader& parent, Diagnostics& diagnostics, ElasticsearchOutputConfig& out) {
  const Node* node = parent.take("non_indexable_policy");
  if (!node || node->isNull()) return;
  const std::string path = "output.elasticsearch.non_indexable_policy";
  if (!node->isMap() || node->entries.size() != 1) {
    diagnostics.error(node->origin, path, "expected exactly one of `drop: ~` or `dead_letter_index: {index: NAME}`");
    return;
  }
  const Entry& policy = node->entries.front();
  if (policy.key == "drop") {
    out.nonIndexablePolicy = NonIndexablePolicy::Drop;
    MapReader drop(policy.value.isNull() ? nullptr : &policy.value, path + ".drop", diagnostics);
    drop.finish();
  } else if (policy.key == "dead_letter_index") {
    out.nonIndexablePolicy = NonIndexablePolicy::DeadLetterIndex;
    MapReader dli(&policy.value, path + ".dead_letter_index", diagnostics);
    dli.string("index", out.deadLetterIndex);
    dli.finish();
    if (out.deadLetterIndex.empty()) {
      diagnostics.error(policy.keyOrigin, path + ".dead_letter_index.index", "the dead letter index name is required");
    }
  } else {
    diagnostics.error(policy.keyOrigin, path + "." + policy.key,
                      "unknown policy \"" + policy.key + "\": use drop or dead_letter_index");
  }
}

void decodeElasticsearch(const Node& node, Diagnostics& diagnostics, ElasticsearchOutputConfig& out) {
  MapReader reader(&node, "output.elasticsearch", diagnostics);
  bool enabled = true;
  reader.boolean("enabled", enabled);
  reader.strings("hosts", out.hosts);
  if (out.hosts.empty()) diagnostics.error(node.origin, "output.elasticsearch.hosts", "at least one host is required");
  for (const auto& host : out.hosts) {
    if (const std::string problem = hostProblem(host); !problem.empty()) {
      diagnostics.error(reader.take("hosts")->origin, "output.elasticsearch.hosts", "\"" + host + "\" " + problem);
    }
  }
  reader.oneOf("protocol", out.protocol, {"http", "https"});
  reader.string("path", out.path);
  if (!out.path.empty() && out.path.front() != '/') out.path.insert(out.path.begin(), '/');
  while (out.path.size() > 1 && out.path.back() == '/') out.path.pop_back();
  if (out.path == "/") out.path.clear();
  reader.string("username", out.username);
  reader.string("password", out.password);
  reader.string("api_key", out.apiKey);
  if (reader.has("api_key")) {
    const auto colon = out.apiKey.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == out.apiKey.size()) {
      diagnostics.error(reader.take("api_key")->origin, "output.elasticsearch.api_key",
                        "must be \"id:api_key\" as Elasticsearch's create API key call returns them (the value is not shown)");
    }
    if (!out.username.empty()) {
      diagnostics.error(reader.take("api_key")->origin, "output.elasticsearch.api_key",
                        "api_key and username/password are exclusive: configure one of them");
    }
  }
  if (!out.password.empty() && out.username.empty()) {
    diagnostics.error(reader.take("password")->origin, "output.elasticsearch.password", "a password needs a username");
  }
  reader.string("index", out.index);
  if (reader.has("index")) {
    if (const std::string problem = indexNameProblem(out.index); !problem.empty()) {
      diagnostics.error(reader.take("index")->origin, "output.elasticsearch.index", problem);
    }
  }
  reader.string("pipeline", out.pipeline);
  if (reader.has("pipeline") && (out.pipeline.empty() || out.pipeline.find("%{") != std::string::npos)) {
    diagnostics.error(reader.take("pipeline")->origin, "output.elasticsearch.pipeline",
                      "must be the name of an ingest pipeline; format strings are not supported here");
  }
  reader.stringMap("headers", out.headers);
  reader.integer("bulk_max_size", out.bulkMaxSize, 1, 1'000'000);
  reader.duration("flush_interval", out.flushInterval);
  if (reader.has("flush_interval")) {
    diagnostics.warn(reader.take("flush_interval")->origin, "output.elasticsearch.flush_interval",
                     "accepted but not acted on yet: the pipeline sends events as soon as they are ready (batches of "
                     "at most bulk_max_size) and waits at most 1 s");
  }
  reader.integer("worker", out.worker, 1, 64);
  reader.integer("workers", out.worker, 1, 64);
  reader.integer("compression_level", out.compressionLevel, 0, 9);
  reader.duration("timeout", out.timeout);
  reader.duration("idle_connection_timeout", out.idleConnectionTimeout);
  reader.integer("max_retries", out.maxRetries, -1, 1'000'000);
  if (reader.has("max_retries") && out.maxRetries != -1) {
    diagnostics.warn(reader.take("max_retries")->origin, "output.elasticsearch.max_retries",
                     "accepted but not acted on: fimbeat never drops events after a number of retries; undelivered "
                     "events stay in its durable queue and are retried with backoff.init..backoff.max until delivered "
                     "(as Filebeat does)");
  }
  MapReader backoff(reader.take("backoff"), "output.elasticsearch.backoff", diagnostics);
  backoff.duration("init", out.backoffInit);
  backoff.duration("max", out.backoffMax);
  backoff.finish();
  for (auto [value, key] : {std::pair{&out.timeout, "timeout"}, {&out.backoffInit, "backoff.init"}, {&out.backoffMax, "backoff.max"}}) {
    if (value->count() <= 0) diagnostics.error(node.origin, "output.elasticsearch." + std::string(key), "must be greater than 0");
  }
  if (out.backoffMax < out.backoffInit) {
    diagnostics.error(node.origin, "output.elasticsearch.backoff.max", "must not be less than backoff.init");
  }
  reader.string("proxy_url", out.proxyUrl);
  if (reader.has("proxy_url") && out.proxyUrl.find("://") == std::string::npos) {
    diagnostics.error(reader.take("proxy_url")->origin, "output.elasticsearch.proxy_url",
                      "must be a URL such as http://proxy:3128 or socks5://proxy:1080");
  }
  reader.boolean("proxy_disable", out.proxyDisable);
  decodeSsl(reader, diagnostics, out.ssl);
  decodeNonIndexablePolicy(reader, diagnostics, out);
  const std::string why = "not supported by fimbeat's Elasticsearch output";
  for (const char* key : {"parameters", "proxy_headers", "escape_html", "loadbalance", "kerberos", "pipelines",
                          "allow_older_versions", "preset", "queue", "setup"}) {
    reader.notImplemented(key, why);
  }
  reader.finish();
}

}  // namespace

void decodeOutputs(MapReader& top, const PathsConfig& paths, OutputConfig& out, bool requireOutput) {
  Diagnostics& diagnostics = top.diagnostics();
  const Node* section = top.take("output");
  MapReader reader(section, "output", diagnostics);
  std::vector<std::pair<std::string, const Node*>> enabled;
  for (const auto& name : kSupported) {
    const Node* node = reader.take(name);
    if (node && enabledFlag(*node)) enabled.emplace_back(name, node);
  }
  for (const auto& name : kOtherBeatsOutputs) {
    const Node* node = reader.take(name);
    if (node && enabledFlag(*node)) {
      diagnostics.error(node->origin, "output." + name,
                        "output." + name + " is not supported by fimbeat; use output.elasticsearch, output.file or output.console");
    }
  }
  reader.finish();
  if (enabled.empty() && requireOutput) {
    diagnostics.error(section ? section->origin : Origin{top.node() ? top.node()->origin.source : "", 0}, "output",
                      "no output is enabled: configure exactly one of output.elasticsearch, output.file or output.console");
    return;
  }
  if (enabled.empty()) return;  // managed by Fleet: the policy names the output
  if (enabled.size() > 1) {
    std::string list;
    for (const auto& [name, node] : enabled) list += (list.empty() ? "output." : ", output.") + name + " (" + node->origin.describe() + ")";
    diagnostics.error(enabled[1].second->origin, "output",
                      "more than one output is enabled: " + list + "; set `enabled: false` on all but one");
    return;
  }
  const auto& [name, node] = enabled.front();
  const Node empty = Node::map(node->origin);
  const Node& options = node->isNull() ? empty : *node;
  if (name == "file") {
    out.kind = OutputKind::File;
    decodeFile(options, paths, diagnostics, out.file);
  } else if (name == "console") {
    out.kind = OutputKind::Console;
    decodeConsole(options, diagnostics, out.console);
  } else {
    out.kind = OutputKind::Elasticsearch;
    decodeElasticsearch(options, diagnostics, out.elasticsearch);
  }
}

}  // namespace fim::config
