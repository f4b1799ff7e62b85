#pragma once
// The options of Beats' metadata processors that look outside the event: add_observer_metadata,
// add_process_metadata, add_docker_metadata and add_kubernetes_metadata, with Beats' names and
// defaults, checked at load time.

#include <chrono>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "config/units.h"

namespace fim::config {

// geo.* of add_observer_metadata (Beats' util.GeoConfig); blank values are left out.
struct GeoConfig {
  std::string name;
  std::string location;  // "lat, lon", checked at load time
  std::string continentName;
  std::string countryName;
  std::string countryIsoCode;
  std::string regionName;
  std::string regionIsoCode;
  std::string cityName;
};

struct ObserverMetadataConfig {
  bool netinfo = true;                          // netinfo.enabled: observer.ip and observer.mac
  Duration cacheTtl = std::chrono::minutes(5);  // cache.ttl; <= 0 reads the host on every event
  bool overwrite = false;                       // replace an observer object the event already has
  std::optional<GeoConfig> geo;
};

struct ProcessMetadataConfig {
  std::vector<std::string> matchPids{"process.pid", "process.parent.pid"};  // the first one present is used
  std::string target;                   // prefix for the fields; "" = the document root
  std::vector<std::string> includeFields;  // checked against the fields Beats offers; empty: process and container
  bool ignoreMissing = true;            // false: an event without any match_pids field is a failure
  bool overwriteKeys = false;
  bool restrictedFields = false;        // also process.env
  std::string hostPath = "/";           // where /proc is found: <host_path>/proc
  std::vector<std::string> cgroupPrefixes;  // set: container id by prefix (cgroup v1) as Beats
  std::string cgroupRegex;              // RE2 with one capturing group: the container id
  Duration cgroupCacheExpireTime = std::chrono::seconds(30);  // 0: no container id cache
};

// ssl.* of add_docker_metadata (Beats' docker.TLSConfig).
struct DockerTlsConfig {
  std::string certificateAuthority;
  std::string certificate;
  std::string key;
};

struct DockerMetadataConfig {
  std::string host = "unix:///var/run/docker.sock";  // unix:///path, tcp://host:port, http(s)://host:port
  std::optional<DockerTlsConfig> ssl;
  std::vector<std::string> matchFields;
  std::vector<std::string> matchPids{"process.pid", "process.parent.pid"};
  bool matchSource = true;  // container id from log.file.path
  int sourceIndex = 4;      // match_source_index: /var/lib/docker/containers/<id>/*.log
  bool matchShortId = false;
  std::string hostfs = "/";  // where /proc is found, for match_pids
  bool labelsDedot = true;
  Duration cleanupTimeout = std::chrono::seconds(60);
  bool waitForMetadata = false;  // wait_for_metadata: hold the start until Docker answers
  Duration waitForMetadataTimeout = std::chrono::seconds(30);
  Duration waitForMetadataRetryPeriod = std::chrono::seconds(10);
};

// Labels and annotations kept for one kind of resource (the pod's own, add_resource_metadata.node/namespace).
struct KubernetesLabelsConfig {
  bool enabled = true;
  std::vector<std::string> includeLabels;       // empty: all
  std::vector<std::string> excludeLabels;
  std::vector<std::string> includeAnnotations;  // regular expressions matched against annotation names; empty: none
  bool labelsDedot = true;
  bool annotationsDedot = true;
};

struct KubernetesMatcherConfig {
  std::string name;                       // fields, field_format, logs_path
  std::vector<std::string> lookupFields;  // fields
  std::string format;                     // field_format: "%{[field]}:%{[other]}"
  std::string logsPath = "/var/lib/docker/containers/";  // logs_path
  std::string resourceType = "container";                // logs_path: container or pod
};

struct KubernetesMetadataConfig {
  std::string kubeConfig;  // kube_config; "" = KUBECONFIG, then the in-cluster service account
  std::string node;        // node (alias host): the node whose pods are watched; "" = discovered
  std::string scope = "node";  // node or cluster
  std::string ns;              // namespace; "" = all
  Duration syncPeriod = std::chrono::minutes(10);
  Duration cleanupTimeout = std::chrono::seconds(60);
  std::vector<std::string> indexers;  // container, pod_name, pod_uid, ip_port
  std::vector<KubernetesMatcherConfig> matchers;
  bool defaultIndexers = true;  // fimbeat's defaults: the container indexer
  bool defaultMatchers = true;  // and a fields matcher on container.id
  KubernetesLabelsConfig pod;   // include_labels, exclude_labels, include_annotations, labels.dedot, annotations.dedot
  KubernetesLabelsConfig nodeMetadata;       // add_resource_metadata.node
  KubernetesLabelsConfig namespaceMetadata;  // add_resource_metadata.namespace
};

struct MetadataProcessorConfig {
  std::variant<ObserverMetadataConfig, ProcessMetadataConfig, DockerMetadataConfig, KubernetesMetadataConfig> options;
};

// add_process_metadata's default cgroup_regex (Beats' defaultCgroupRegex), used when neither
// cgroup_prefixes nor cgroup_regex is set.
inline constexpr const char* kDefaultCgroupRegex = R"([-/]([0-9a-f]{64})(\.scope)?$)";

}  // namespace fim::config
