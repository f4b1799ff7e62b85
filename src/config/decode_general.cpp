// Top-level beats settings: path.*, logging.*, data_stream, processors and the sections not acted on yet.

#include <algorithm>
#include <string>

#include "config/decode.h"

namespace fim::config {
namespace {

const std::vector<std::string> kLogLevels{"debug", "info", "warning", "warn", "error", "critical"};

// Sections beats users carry in their files that fimbeat accepts and does not act on yet.
const std::vector<std::pair<std::string, std::string>> kPendingSections{
    {"monitoring", "self-monitoring is not implemented"},
    {"max_procs", "fimbeat sizes its worker pools itself"},
    {"seccomp", "no seccomp filter is installed"},
    {"instrumentation", "APM instrumentation is not implemented"},
    {"keystore", "the keystore is always <path.data>/fimbeat.keystore"},
    {"features", "no feature flags exist"},
    {"timestamp", "timestamps always have millisecond precision"},
    {"xpack", "X-Pack monitoring is not implemented"},
    {"migration", "no migration settings exist"},
};

void decodePaths(MapReader& top) {
  // path.* was resolved before expansion (see loader); here it is only checked for unknown keys.
  MapReader reader(top.take("path"), "path", top.diagnostics());
  for (const char* key : {"home", "config", "data", "logs"}) reader.take(key);
  reader.finish();
}

// Elasticsearch's rules for the parts of a data stream name: lower case, at most 100 bytes, none
// of \ / * ? " < > | , # : space, and no '-' (it separates the parts).
void checkDataStreamPart(MapReader& reader, const std::string& key, const std::string& value) {
  std::string problem;
  if (value.empty()) problem = "must not be empty";
  else if (value.size() > 100) problem = "must be at most 100 bytes";
  else if (std::any_of(value.begin(), value.end(), [](unsigned char c) { return c >= 'A' && c <= 'Z'; }))
    problem = "must be lower case";
  else if (value.find_first_of("\\/*?\"<>|,#: -") != std::string::npos)
    problem = "must not contain '-', spaces or any of \\ / * ? \" < > | , # :";
  if (!problem.empty()) {
    reader.diagnostics().error(reader.take(key)->origin, reader.keyPath(key),
                               "\"" + value + "\" " + problem + " (Elasticsearch data stream naming)");
  }
}

void decodeQueue(MapReader& top, QueueConfig& out) {
  MapReader reader(top.take("queue"), "queue", top.diagnostics());
  reader.size("max_size", out.maxSize);
  if (out.maxSize < 1024 * 1024) {
    reader.diagnostics().error(reader.take("max_size")->origin, "queue.max_size", "must be at least 1MiB");
  }
  if (const Node* minFree = reader.take("min_free"); minFree && minFree->isScalar()) {
    const std::string& text = minFree->scalar;
    if (!text.empty() && text.back() == '%') {
      double percent = -1;
      try {
        percent = std::stod(text.substr(0, text.size() - 1));
      } catch (const std::exception&) {
      }
      if (percent < 0 || percent > 50) {
        reader.diagnostics().error(minFree->origin, "queue.min_free", "\"" + text + "\" must be a percentage from 0% to 50%");
      } else {
        out.minFreeBytes.reset();
        out.minFreePercent = percent;
      }
    } else if (auto bytes = parseSize(text); bytes) {
      out.minFreeBytes = *bytes;
      out.minFreePercent.reset();
    } else {
      reader.diagnostics().error(minFree->origin, "queue.min_free",
                                 "\"" + text + "\" must be a size (\"64MiB\") or a percentage of the file system (\"5%\")");
    }
  } else if (minFree) {
    reader.diagnostics().error(minFree->origin, "queue.min_free", "must be a size or a percentage, got " + minFree->kindName());
  }
  reader.notImplemented("mem", "fimbeat's queue is always on disk (RocksDB under path.data); size it with queue.max_size");
  reader.notImplemented("disk", "fimbeat's queue is always on disk (RocksDB under path.data); size it with queue.max_size");
  reader.finish();
}

void decodeDataStream(MapReader& top, DataStreamConfig& out) {
  MapReader reader(top.take("data_stream"), "data_stream", top.diagnostics());
  reader.oneOf("type", out.type, {"logs", "metrics", "traces", "synthetics", "profiling"});
  reader.string("dataset", out.dataset);
  reader.string("namespace", out.ns);
  if (reader.has("dataset")) checkDataStreamPart(reader, "dataset", out.dataset);
  if (reader.has("namespace")) checkDataStreamPart(reader, "namespace", out.ns);
  reader.finish();
}

// setup.*: index management, and Kibana's dashboards (decode_kibana.cpp).
void decodeSetup(MapReader& top, const Config& config, SetupConfig& out) {
  MapReader reader(top.take("setup"), "setup", top.diagnostics());
  MapReader templ(reader.take("template"), "setup.template", top.diagnostics());
  templ.boolean("enabled", out.templateEnabled);
  templ.boolean("overwrite", out.templateOverwrite);
  for (const char* key : {"name", "pattern", "fields", "json", "append_fields", "settings", "type"}) {
    templ.notImplemented(key, "the index template is generated from fields/fields.yml for the data stream");
  }
  templ.finish();
  MapReader ilm(reader.take("ilm"), "setup.ilm", top.diagnostics());
  ilm.boolean("enabled", out.ilmEnabled);
  ilm.string("policy_name", out.ilmPolicyName);
  if (ilm.has("policy_name") && (out.ilmPolicyName.empty() || out.ilmPolicyName.find_first_of("/ ,*\\\"?<>|#") != std::string::npos)) {
    top.diagnostics().error(ilm.take("policy_name")->origin, "setup.ilm.policy_name",
                            "\"" + out.ilmPolicyName + "\" is not a valid ILM policy name");
  }
  ilm.notImplemented("policy_file", "fimbeat installs its own policy (see `fimbeat export ilm-policy`)");
  ilm.notImplemented("check_exists", "fimbeat always checks");
  ilm.notImplemented("overwrite", "an existing policy is always updated");
  ilm.finish();
  decodeKibanaSetup(reader, config, out);
  reader.finish();
}

// http.*: the monitoring endpoint (Beats' names and defaults).
void decodeHttp(MapReader& top, HttpConfig& out) {
  MapReader reader(top.take("http"), "http", top.diagnostics());
  reader.boolean("enabled", out.enabled);
  reader.string("host", out.host);
  reader.integer("port", out.port, 0, 65535);
  if (out.host.empty() || out.host == "unix://") {
    top.diagnostics().error(reader.take("host")->origin, "http.host", "must be a host name, an address or unix:///path");
  } else if (out.host.starts_with("unix://") && out.host[7] != '/') {
    top.diagnostics().error(reader.take("host")->origin, "http.host",
                            "a unix socket needs an absolute path: unix:///run/fimbeat/monitoring.sock");
  }
  reader.notImplemented("pprof", "Go's profiler does not exist in fimbeat");
  reader.notImplemented("named_pipe", "named pipes are Windows-only");
  reader.notImplemented("user", "the unix socket belongs to the user running fimbeat");
  reader.notImplemented("security_descriptor", "security descriptors are Windows-only");
  reader.finish();
}

}  // namespace

void decodeLogging(MapReader& top, const PathsConfig& paths, LoggingConfig& out) {
  MapReader reader(top.take("logging"), "logging", top.diagnostics());
  reader.oneOf("level", out.level, kLogLevels);
  if (out.level == "warn") out.level = "warning";
  reader.strings("selectors", out.selectors);
  reader.boolean("to_stderr", out.toStderr);
  reader.boolean("to_files", out.toFiles);
  bool json = true;
  reader.boolean("json", json);
  if (!json) {
    top.diagnostics().warn(reader.take("json")->origin, "logging.json", "fimbeat always logs JSON lines; json: false has no effect");
  }
  out.filesPath = paths.logs;
  MapReader files(reader.take("files"), "logging.files", top.diagnostics());
  files.string("path", out.filesPath);
  files.string("name", out.filesName);
  files.size("rotateeverybytes", out.rotateEveryBytes);
  files.integer("keepfiles", out.keepFiles, 2, 1024);
  files.fileMode("permissions", out.permissions);
  files.notImplemented("interval", "logs rotate by size only");
  files.notImplemented("rotateonstartup", "logs rotate by size only");
  files.notImplemented("redirect_stderr", "stderr is not redirected");
  files.finish();
  MapReader metrics(reader.take("metrics"), "logging.metrics", top.diagnostics());
  metrics.boolean("enabled", out.metricsEnabled);
  metrics.duration("period", out.metricsPeriod);
  if (out.metricsPeriod < Duration::zero()) {
    top.diagnostics().error(metrics.take("period")->origin, "logging.metrics.period", "must not be negative");
  }
  metrics.finish();
  reader.notImplemented("to_syslog", "syslog logging is not implemented");
  reader.notImplemented("to_eventlog", "Windows event log is not supported");
  reader.notImplemented("event_data", "no separate event log exists");
  reader.finish();
}

void decodeFleet(MapReader& top, FleetConfig& out) {
  MapReader reader(top.take("fleet"), "fleet", top.diagnostics());
  reader.string("agent_version", out.agentVersion);
  reader.duration("timeout", out.timeout);
  MapReader checkin(reader.take("checkin"), "fleet.checkin", top.diagnostics());
  checkin.duration("poll_timeout", out.pollTimeout);
  checkin.duration("min_interval", out.minInterval);
  std::string compression = out.gzip ? "gzip" : "none";
  checkin.oneOf("compression", compression, {"gzip", "none"});
  out.gzip = compression == "gzip";
  checkin.finish();
  MapReader backoff(reader.take("backoff"), "fleet.backoff", top.diagnostics());
  backoff.duration("init", out.backoffInit);
  backoff.duration("max", out.backoffMax);
  backoff.finish();
  reader.integer("unauthorized_limit", out.unauthorizedLimit, 1, 1000);
  reader.duration("revoked_interval", out.revokedInterval);
  reader.integer("apply_attempts", out.applyAttempts, 1, 100);
  reader.duration("apply_timeout", out.applyTimeout);
  if (out.applyTimeout <= Duration::zero()) {
    top.diagnostics().error(reader.node() ? reader.node()->origin : Origin{}, "fleet.apply_timeout",
                            "fleet.apply_timeout must be more than 0 (the time new stages have to start)");
  }
  if (out.pollTimeout < std::chrono::seconds(1) || out.backoffInit <= Duration::zero() || out.backoffMax < out.backoffInit) {
    top.diagnostics().error(reader.node() ? reader.node()->origin : Origin{}, "fleet",
                            "fleet.checkin.poll_timeout must be at least 1s and fleet.backoff.max at least fleet.backoff.init (> 0)");
  }
  if (out.timeout != Duration::zero() && out.timeout <= out.pollTimeout) {
    top.diagnostics().error(reader.node() ? reader.node()->origin : Origin{}, "fleet.timeout",
                            "must be longer than fleet.checkin.poll_timeout (a checkin may wait that long for news)");
  }
  reader.finish();
}

void decodeTopLevel(const Node& root, Config& config, Diagnostics& diagnostics, bool requireModules) {
  MapReader top(&root, "", diagnostics);
  decodeModuleSection(top, "fimbeat", config.modules, config.rpmDbPath);
  decodeModuleSection(top, "auditbeat", config.modules, config.rpmDbPath);
  decodeFleet(top, config.fleet);
  if (requireModules && config.modules.empty() && !diagnostics.hasErrors()) {
    diagnostics.error(Origin{config.configFile, 0}, "fimbeat.modules",
                      "no file_integrity module is configured (other Auditbeat modules are skipped, disabled ones "
                      "ignored): add `fimbeat.modules: [{module: file_integrity, paths: [/etc]}]`");
  }
  decodePaths(top);
  decodeLogging(top, config.paths, config.logging);
  decodeHttp(top, config.http);
  decodeOutputs(top, config.paths, config.output, requireModules);
  top.string("name", config.name);  // agent.name; the host name when unset
  top.strings("tags", config.tags);
  decodeDataStream(top, config.dataStream);
  decodeSetup(top, config, config.setup);
  decodeQueue(top, config.queue);
  if (const Node* processors = top.take("processors")) {
    decodeProcessors(*processors, "processors", diagnostics, config.processors,
                     MetadataTargets{&config.hostMetadata, &config.cloudMetadata});
  }
  decodeCustomFields(top, config.processors);
  top.take("cloud");  // applied to output.elasticsearch and setup.kibana before decoding (cloud_id.cpp)
  for (const auto& [key, why] : kPendingSections) top.notImplemented(key, why);
  top.finish();
}

}  // namespace fim::config
