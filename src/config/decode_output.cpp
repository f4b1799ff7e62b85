// The output section: exactly one of output.file, output.console, output.elasticsearch enabled.

#include "config/decode.h"

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

void decodeElasticsearch(const Node& node, Diagnostics& diagnostics, ElasticsearchOutputConfig& out) {
  MapReader reader(&node, "output.elasticsearch", diagnostics);
  bool enabled = true;
  reader.boolean("enabled", enabled);
  reader.strings("hosts", out.hosts);
  if (out.hosts.empty()) diagnostics.error(node.origin, "output.elasticsearch.hosts", "at least one host is required");
  reader.string("protocol", out.protocol);
  reader.string("path", out.path);
  reader.string("username", out.username);
  reader.string("password", out.password);
  reader.string("api_key", out.apiKey);
  reader.string("index", out.index);
  reader.stringMap("headers", out.headers);
  const std::string why = "the Elasticsearch output is not implemented yet";
  for (const char* key : {"hosts", "protocol", "path", "username", "password", "api_key", "index", "headers"}) {
    reader.notImplemented(key, why);
  }
  for (const char* key : {"parameters", "proxy_url", "proxy_disable", "proxy_headers", "compression_level",
                          "escape_html", "worker", "workers", "loadbalance", "bulk_max_size", "flush_interval",
                          "timeout", "idle_connection_timeout", "max_retries", "backoff", "ssl", "kerberos",
                          "pipeline", "pipelines", "allow_older_versions", "non_indexable_policy", "preset",
                          "queue", "setup"}) {
    reader.notImplemented(key, why);
  }
  reader.finish();
}

}  // namespace

void decodeOutputs(MapReader& top, const PathsConfig& paths, OutputConfig& out) {
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
  if (enabled.empty()) {
    diagnostics.error(section ? section->origin : Origin{top.node() ? top.node()->origin.source : "", 0}, "output",
                      "no output is enabled: configure exactly one of output.elasticsearch, output.file or output.console");
    return;
  }
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
