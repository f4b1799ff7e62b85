#pragma once
// The metadata add_kubernetes_metadata puts on an event, built from the Kubernetes API's objects
// (API reference v1: Pod, Node, Namespace) as Beats' indexers and metadata generators build it:
// for each index (a container id, "namespace/pod", a pod uid, "ip" or "ip:port") the JSON
// {"kubernetes": {pod.{name,uid,ip}, namespace, namespace_uid, namespace_labels.*, node.{name,
// uid, hostname, labels.*}, labels.*, annotations.*, replicaset.name, ..., container.name},
// "container": {id, runtime, image.name}}.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/metadata_processors_config.h"
#include "core/result.h"

namespace fim::enricher {

// What a Node or a Namespace contributes to its pods' metadata.
struct KubeObjectMeta {
  std::string name;
  std::string uid;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::string hostname;  // nodes: status.addresses[type=Hostname]
};

[[nodiscard]] core::Result<KubeObjectMeta> parseKubeObject(std::string_view json);  // a Node or a Namespace

struct PodIndex {
  std::string index;
  std::string json;
};

struct PodEntry {
  std::string key;           // namespace/name
  bool terminating = false;  // metadata.deletionTimestamp set: Beats stops indexing it
  std::string nodeName;      // spec.nodeName
  std::string ns;
};

// The pods of a PodList ("items"), each as the raw JSON of one pod; an error when it is not one.
[[nodiscard]] core::Result<std::vector<std::string>> splitPodList(std::string_view json);
[[nodiscard]] core::Result<PodEntry> podEntry(std::string_view podJson);
// The node a pod runs on (spec.nodeName); "" when unknown. For node discovery in-cluster.
[[nodiscard]] core::Result<std::string> podNodeName(std::string_view podJson);
// The name of the node whose status.nodeInfo.machineID is `machineId`, in a NodeList; "" when none.
[[nodiscard]] core::Result<std::string> nodeWithMachineId(std::string_view nodeListJson, std::string_view machineId);

// The indexes of one pod for the configured indexers, with their metadata. `node` and
// `nsMeta` are null when unknown or disabled (then only kubernetes.node.name / namespace).
std::vector<PodIndex> podIndexes(std::string_view podJson, const config::KubernetesMetadataConfig& config,
                                 const std::vector<std::string>& indexers, const KubeObjectMeta* node,
                                 const KubeObjectMeta* nsMeta);

}  // namespace fim::enricher
