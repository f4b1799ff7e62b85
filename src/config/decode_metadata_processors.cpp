// The options of add_observer_metadata, add_process_metadata, add_docker_metadata and
// add_kubernetes_metadata, with Beats' names, defaults and checks.

#include <re2/re2.h>

#include <algorithm>

#include <fmt/format.h>

#include "config/decode.h"

namespace fim::config {
namespace {

// What add_process_metadata's include_fields may name (Beats' defaultFields; process.env only
// with restricted_fields): every field and every object above one.
const std::vector<std::string>& processFieldNames(bool restricted) {
  static const std::vector<std::string> kFields{
      "process", "process.name", "process.title", "process.executable", "process.args", "process.pid",
      "process.parent", "process.parent.pid", "process.entity_id", "process.start_time", "process.owner",
      "process.owner.name", "process.owner.id", "process.group", "process.group.name", "process.group.id",
      "process.thread", "process.thread.capabilities", "process.thread.capabilities.effective",
      "process.thread.capabilities.permitted", "container", "container.id"};
  static const std::vector<std::string> kRestricted = [] {
    auto all = kFields;
    all.push_back("process.env");
    return all;
  }();
  return restricted ? kRestricted : kFields;
}

const Node* child(MapReader& reader, std::string_view key) { return reader.node() ? reader.node()->get(key) : nullptr; }

// `key: {enabled: ..., ...}` read through `body`.
template <typename Body>
void section(MapReader& reader, std::string_view key, Body body) {
  MapReader inner(reader.take(key), reader.keyPath(key), reader.diagnostics());
  body(inner);
  inner.finish();
}

void decodeGeo(MapReader& reader, std::optional<GeoConfig>& out) {
  if (!reader.has("geo")) {
    reader.take("geo");
    return;
  }
  GeoConfig geo;
  const Node* node = child(reader, "geo");
  section(reader, "geo", [&](MapReader& g) {
    g.string("name", geo.name);
    g.string("location", geo.location);
    g.string("continent_name", geo.continentName);
    g.string("country_name", geo.countryName);
    g.string("country_iso_code", geo.countryIsoCode);
    g.string("region_name", geo.regionName);
    g.string("region_iso_code", geo.regionIsoCode);
    g.string("city_name", geo.cityName);
  });
  static const RE2 kLocation(R"(^\s*-?\d+(\.\d+)?\s*,\s*-?\d+(\.\d+)?\s*$)");
  if (!geo.location.empty() && !RE2::FullMatch(geo.location, kLocation)) {
    const Node* at = node && node->isMap() ? node->get("location") : node;
    reader.diagnostics().error(at ? at->origin : Origin{}, reader.keyPath("geo.location"),
                               fmt::format("\"{}\" is not a latitude and longitude such as `40.7128, -74.0060`", geo.location));
    return;
  }
  out = std::move(geo);
}

void decodeObserver(MapReader& reader, ObserverMetadataConfig& out) {
  section(reader, "netinfo", [&](MapReader& n) { n.boolean("enabled", out.netinfo); });
  section(reader, "cache", [&](MapReader& c) { c.duration("ttl", out.cacheTtl); });
  reader.boolean("overwrite", out.overwrite);
  decodeGeo(reader, out.geo);
}

void decodeProcess(MapReader& reader, const Origin& origin, ProcessMetadataConfig& out) {
  if (reader.has("match_pids")) {
    out.matchPids.clear();
    reader.strings("match_pids", out.matchPids);
    if (out.matchPids.empty()) {
      reader.diagnostics().error(child(reader, "match_pids")->origin, reader.keyPath("match_pids"),
                                 "is required, for example `match_pids: [process.pid]`");
    }
  }
  reader.string("target", out.target);
  reader.boolean("ignore_missing", out.ignoreMissing);
  reader.boolean("overwrite_keys", out.overwriteKeys);
  reader.boolean("restricted_fields", out.restrictedFields);
  reader.string("host_path", out.hostPath);
  if (out.hostPath.empty()) out.hostPath = "/";
  reader.strings("cgroup_prefixes", out.cgroupPrefixes);
  reader.string("cgroup_regex", out.cgroupRegex);
  reader.duration("cgroup_cache_expire_time", out.cgroupCacheExpireTime);
  if (!out.cgroupRegex.empty()) {
    RE2 re(out.cgroupRegex, RE2::Quiet);
    const Node* at = child(reader, "cgroup_regex");
    if (!re.ok()) {
      reader.diagnostics().error(at->origin, reader.keyPath("cgroup_regex"),
                                 fmt::format("invalid regular expression \"{}\": {}", out.cgroupRegex, re.error()));
    } else if (re.NumberOfCapturingGroups() != 1) {
      reader.diagnostics().error(at->origin, reader.keyPath("cgroup_regex"),
                                 "must contain exactly one capturing group for the container ID");
    }
  } else if (!reader.has("cgroup_prefixes")) {
    out.cgroupRegex = kDefaultCgroupRegex;
  }
  const Node* include = child(reader, "include_fields");
  reader.strings("include_fields", out.includeFields);
  const auto& valid = processFieldNames(out.restrictedFields);
  for (std::size_t i = 0; i < out.includeFields.size(); ++i) {
    if (std::find(valid.begin(), valid.end(), out.includeFields[i]) != valid.end()) continue;
    std::string message = fmt::format("field '{}' not found", out.includeFields[i]);
    if (out.includeFields[i] == "process.env") message += "; process.env needs `restricted_fields: true`";
    else if (auto close = closestMatch(out.includeFields[i], valid); !close.empty()) message += fmt::format("; did you mean \"{}\"?", close);
    reader.diagnostics().error(include && include->isSequence() && i < include->items.size() ? include->items[i].origin : origin,
                               reader.keyPath("include_fields") + "." + std::to_string(i), message);
  }
}

void decodeDocker(MapReader& reader, DockerMetadataConfig& out) {
  reader.string("host", out.host);
  if (!out.host.starts_with("unix://") && !out.host.starts_with("tcp://") && !out.host.starts_with("http://") &&
      !out.host.starts_with("https://")) {
    reader.diagnostics().error(child(reader, "host")->origin, reader.keyPath("host"),
                               fmt::format("\"{}\" is not a Docker host such as `unix:///var/run/docker.sock` or "
                                           "`tcp://127.0.0.1:2376`", out.host));
  }
  if (reader.has("ssl")) {
    DockerTlsConfig tls;
    section(reader, "ssl", [&](MapReader& s) {
      s.string("certificate_authority", tls.certificateAuthority);
      s.string("certificate", tls.certificate);
      s.string("key", tls.key);
    });
    out.ssl = tls;
  } else {
    reader.take("ssl");
  }
  reader.strings("match_fields", out.matchFields);
  if (reader.has("match_pids")) {
    out.matchPids.clear();
    reader.strings("match_pids", out.matchPids);
  }
  reader.boolean("match_source", out.matchSource);
  reader.integer("match_source_index", out.sourceIndex, 0, 1024);
  reader.boolean("match_short_id", out.matchShortId);
  reader.string("hostfs", out.hostfs);
  if (out.hostfs.empty()) out.hostfs = "/";
  section(reader, "labels", [&](MapReader& l) { l.boolean("dedot", out.labelsDedot); });
  reader.duration("cleanup_timeout", out.cleanupTimeout);
  reader.boolean("wait_for_metadata", out.waitForMetadata);
  reader.duration("wait_for_metadata_timeout", out.waitForMetadataTimeout);
  reader.duration("wait_for_metadata_retry_period", out.waitForMetadataRetryPeriod);
  if (out.waitForMetadataRetryPeriod <= Duration::zero()) {
    reader.diagnostics().error(child(reader, "wait_for_metadata_retry_period")->origin,
                               reader.keyPath("wait_for_metadata_retry_period"), "must be greater than zero");
  }
  if (out.waitForMetadataTimeout < Duration::zero()) {
    reader.diagnostics().error(child(reader, "wait_for_metadata_timeout")->origin, reader.keyPath("wait_for_metadata_timeout"),
                               "must be zero or greater (zero means wait indefinitely)");
  }
}

// include_labels, exclude_labels, include_annotations, labels.dedot, annotations.dedot.
void decodeLabels(MapReader& reader, KubernetesLabelsConfig& out) {
  reader.strings("include_labels", out.includeLabels);
  reader.strings("exclude_labels", out.excludeLabels);
  reader.strings("include_annotations", out.includeAnnotations);
  const Node* include = child(reader, "include_annotations");
  for (std::size_t i = 0; i < out.includeAnnotations.size(); ++i) {
    RE2 re(out.includeAnnotations[i], RE2::Quiet);
    if (!re.ok()) {
      reader.diagnostics().error(include->isSequence() && i < include->items.size() ? include->items[i].origin : include->origin,
                                 reader.keyPath("include_annotations") + "." + std::to_string(i),
                                 fmt::format("invalid regular expression \"{}\": {}", out.includeAnnotations[i], re.error()));
    }
  }
  section(reader, "labels", [&](MapReader& l) { l.boolean("dedot", out.labelsDedot); });
  section(reader, "annotations", [&](MapReader& a) { a.boolean("dedot", out.annotationsDedot); });
}

// indexers / matchers: a list of `- name: {options}` entries.
template <typename Entry>
void decodePlugins(MapReader& reader, std::string_view key, const std::vector<std::string>& known, Entry entry) {
  const Node* list = reader.take(key);
  if (!list || list->isNull()) return;
  if (!list->isSequence()) {
    reader.diagnostics().error(list->origin, reader.keyPath(key), "expected a list such as `- container: ~`, got " + list->kindName());
    return;
  }
  for (std::size_t i = 0; i < list->items.size(); ++i) {
    const Node& item = list->items[i];
    const std::string path = reader.keyPath(key) + "." + std::to_string(i);
    if (!item.isMap() || item.entries.size() != 1) {
      reader.diagnostics().error(item.origin, path, "expected one entry such as `- container: ~`");
      continue;
    }
    const auto& plugin = item.entries.front();
    if (std::find(known.begin(), known.end(), plugin.key) == known.end()) {
      std::string message = fmt::format("unknown {} \"{}\"; known: {}", key == "indexers" ? "indexer" : "matcher", plugin.key,
                                        fmt::join(known, ", "));
      reader.diagnostics().error(plugin.keyOrigin, path + "." + plugin.key, message);
      continue;
    }
    MapReader options(&plugin.value, path + "." + plugin.key, reader.diagnostics());
    entry(plugin.key, options, plugin.keyOrigin);
    options.finish();
  }
}

void decodeKubernetes(MapReader& reader, KubernetesMetadataConfig& out) {
  reader.string("kube_config", out.kubeConfig);
  reader.string("host", out.node);
  reader.string("node", out.node);
  reader.oneOf("scope", out.scope, {"node", "cluster"});
  reader.string("namespace", out.ns);
  reader.duration("sync_period", out.syncPeriod);
  reader.duration("cleanup_timeout", out.cleanupTimeout);
  section(reader, "default_indexers", [&](MapReader& d) { d.boolean("enabled", out.defaultIndexers); });
  section(reader, "default_matchers", [&](MapReader& d) { d.boolean("enabled", out.defaultMatchers); });
  decodePlugins(reader, "indexers", {"container", "pod_name", "pod_uid", "ip_port"},
                [&](const std::string& name, MapReader&, const Origin&) { out.indexers.push_back(name); });
  decodePlugins(reader, "matchers", {"fields", "field_format", "logs_path"},
                [&](const std::string& name, MapReader& options, const Origin& origin) {
                  KubernetesMatcherConfig matcher;
                  matcher.name = name;
                  if (name == "fields") {
                    options.strings("lookup_fields", matcher.lookupFields);
                    if (matcher.lookupFields.empty()) {
                      options.diagnostics().error(origin, options.keyPath("lookup_fields"),
                                                  "is required, for example `lookup_fields: [container.id]`");
                    }
                  } else if (name == "field_format") {
                    options.string("format", matcher.format);
                    if (matcher.format.empty()) {
                      options.diagnostics().error(origin, options.keyPath("format"),
                                                  "is required, for example `format: '%{[destination.ip]}:%{[destination.port]}'`");
                    }
                  } else {
                    options.string("logs_path", matcher.logsPath);
                    options.oneOf("resource_type", matcher.resourceType, {"container", "pod"});
                  }
                  out.matchers.push_back(std::move(matcher));
                });
  decodeLabels(reader, out.pod);
  section(reader, "add_resource_metadata", [&](MapReader& r) {
    for (auto [key, target] : {std::pair{"node", &out.nodeMetadata}, std::pair{"namespace", &out.namespaceMetadata}}) {
      section(r, key, [&](MapReader& kind) {
        kind.boolean("enabled", target->enabled);
        decodeLabels(kind, *target);
      });
    }
    r.notImplemented("deployment", "the deployment of a pod's replica set is not looked up (Beats' default: off)");
    r.notImplemented("cronjob", "the cron job of a pod's job is not looked up (Beats' default: off)");
  });
  reader.notImplemented("kube_client_options", "fimbeat makes a few requests per sync_period; no client rate limits apply");
}

}  // namespace

bool isMetadataProcessor(std::string_view name) {
  return name == "add_observer_metadata" || name == "add_process_metadata" || name == "add_docker_metadata" ||
         name == "add_kubernetes_metadata";
}

void decodeMetadataProcessor(MapReader& reader, const Origin& origin, std::string_view name, MetadataProcessorConfig& out) {
  if (name == "add_observer_metadata") {
    decodeObserver(reader, out.options.emplace<ObserverMetadataConfig>());
  } else if (name == "add_process_metadata") {
    decodeProcess(reader, origin, out.options.emplace<ProcessMetadataConfig>());
  } else if (name == "add_docker_metadata") {
    decodeDocker(reader, out.options.emplace<DockerMetadataConfig>());
  } else {
    decodeKubernetes(reader, out.options.emplace<KubernetesMetadataConfig>());
  }
}

}  // namespace fim::config
