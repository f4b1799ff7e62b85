#include "enricher/kubernetes/pod_metadata.h"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <simdjson.h>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/dotted_json.h"
#include "core/json_reader.h"

namespace fim::enricher {
namespace {

using rapidjson::Value;
using Allocator = rapidjson::Document::AllocatorType;
using core::stringAt;

// A Kubernetes API answer: a JSON object.
core::Result<simdjson::dom::element> parse(simdjson::dom::parser& parser, std::string_view json, std::string_view what) {
  auto doc = core::parseJson(parser, json, "the Kubernetes API's " + std::string(what));
  if (doc && !doc->is_object()) return core::failf(core::ErrorCode::Parse, "the Kubernetes API's {} is not a JSON object", what);
  return doc;
}

std::map<std::string, std::string> stringMap(simdjson::dom::element object, std::string_view path) {
  std::map<std::string, std::string> out;
  simdjson::dom::object map;
  if (object.at_pointer(path).get_object().get(map) != simdjson::SUCCESS) return out;
  for (auto [key, value] : map) {
    std::string_view v;
    if (value.get_string().get(v) == simdjson::SUCCESS) out.emplace(std::string(key), std::string(v));
  }
  return out;
}

Value str(std::string_view s, Allocator& a) { return Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), a); }

bool matchesAny(const std::string& key, const std::vector<std::string>& patterns) {
  for (const auto& p : patterns) {
    if (RE2::PartialMatch(key, RE2(p, RE2::Quiet))) return true;
  }
  return false;
}

std::string dedot(std::string key) {
  for (char& c : key) {
    if (c == '.') c = '_';
  }
  return key;
}

// Beats' label map: all labels (or include_labels) minus exclude_labels, dedotted or nested.
// Dedotted: flat keys with '_' for '.'; else nested by the dots, a name that is also a prefix of
// another under "value" (Beats' safemapstr.Put; core::nestDotted writes the same shape).
Value keyValueObject(const std::vector<std::pair<std::string, std::string>>& pairs, bool dedotted, Allocator& a) {
  Value out(rapidjson::kObjectType);
  if (dedotted) {
    for (const auto& [key, value] : pairs) {
      if (const std::string name = dedot(key); !out.HasMember(name.c_str())) out.AddMember(str(name, a), str(value, a), a);
    }
    return out;
  }
  core::DottedEntries entries;
  for (const auto& [key, value] : pairs) entries.emplace_back(key, value);
  rapidjson::Document nested(&a);
  nested.Parse(core::nestDotted(entries).c_str());
  if (!nested.HasParseError() && nested.IsObject()) out.CopyFrom(nested, a);
  return out;
}

Value labelObject(const std::map<std::string, std::string>& labels, const config::KubernetesLabelsConfig& c, Allocator& a) {
  std::vector<std::pair<std::string, std::string>> kept;
  for (const auto& [key, value] : labels) {
    if (!c.includeLabels.empty() && !matchesAny(key, c.includeLabels)) continue;
    if (std::find(c.excludeLabels.begin(), c.excludeLabels.end(), key) != c.excludeLabels.end()) continue;
    kept.emplace_back(key, value);
  }
  return keyValueObject(kept, c.labelsDedot, a);
}

Value annotationObject(const std::map<std::string, std::string>& annotations, const config::KubernetesLabelsConfig& c, Allocator& a) {
  std::vector<std::pair<std::string, std::string>> kept;
  for (const auto& [key, value] : annotations) {
    if (!c.includeAnnotations.empty() && matchesAny(key, c.includeAnnotations)) kept.emplace_back(key, value);
  }
  return keyValueObject(kept, c.annotationsDedot, a);  // Beats: none unless include_annotations names them
}

void addIfNotEmpty(Value& object, const char* key, Value&& value, Allocator& a) {
  if (value.IsObject() && value.ObjectEmpty()) return;
  object.AddMember(rapidjson::StringRef(key), value, a);
}

std::string serialize(const Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

struct ContainerFields {
  std::string name, image, id, runtime;
};

// "containerd://<id>" → (id, containerd), as Beats' ContainerIDWithRuntime.
ContainerFields containerOf(const std::string& name, const std::string& image, const std::string& containerId) {
  ContainerFields c{name, image, {}, {}};
  const std::size_t sep = containerId.find("://");
  if (sep != std::string::npos) {
    c.runtime = containerId.substr(0, sep);
    c.id = containerId.substr(sep + 3);
  }
  return c;
}

// Beats' pod metadata generator (kubernetes.* and the ECS container.*) for one index.
std::string generate(simdjson::dom::element pod, const config::KubernetesMetadataConfig& config, const KubeObjectMeta* node,
                     const KubeObjectMeta* ns, const ContainerFields* container) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  Value k8s(rapidjson::kObjectType);
  Value podObject(rapidjson::kObjectType);
  podObject.AddMember("name", str(stringAt(pod, "/metadata/name"), a), a);
  podObject.AddMember("uid", str(stringAt(pod, "/metadata/uid"), a), a);
  if (const auto ip = stringAt(pod, "/status/podIP"); !ip.empty()) podObject.AddMember("ip", str(ip, a), a);
  k8s.AddMember("pod", podObject, a);
  const std::string namespaceName = stringAt(pod, "/metadata/namespace");
  if (!namespaceName.empty()) {
    k8s.AddMember("namespace", str(namespaceName, a), a);
    if (ns && config.namespaceMetadata.enabled) {
      if (!ns->uid.empty()) k8s.AddMember("namespace_uid", str(ns->uid, a), a);
      addIfNotEmpty(k8s, "namespace_labels", labelObject(ns->labels, config.namespaceMetadata, a), a);
      addIfNotEmpty(k8s, "namespace_annotations", annotationObject(ns->annotations, config.namespaceMetadata, a), a);
    }
  }
  simdjson::dom::array owners;
  if (pod.at_pointer("/metadata/ownerReferences").get_array().get(owners) == simdjson::SUCCESS) {
    for (simdjson::dom::element owner : owners) {
      bool controller = false;
      if (owner["controller"].get_bool().get(controller) != simdjson::SUCCESS || !controller) continue;
      const std::string kind = stringAt(owner, "/kind");
      if (kind != "Deployment" && kind != "ReplicaSet" && kind != "StatefulSet" && kind != "DaemonSet" && kind != "Job" &&
          kind != "CronJob") {
        continue;
      }
      std::string lower = kind;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      Value named(rapidjson::kObjectType);
      named.AddMember("name", str(stringAt(owner, "/name"), a), a);
      if (!k8s.HasMember(str(lower, a))) k8s.AddMember(str(lower, a), named, a);
    }
  }
  addIfNotEmpty(k8s, "labels", labelObject(stringMap(pod, "/metadata/labels"), config.pod, a), a);
  addIfNotEmpty(k8s, "annotations", annotationObject(stringMap(pod, "/metadata/annotations"), config.pod, a), a);
  Value nodeObject(rapidjson::kObjectType);
  const std::string nodeName = stringAt(pod, "/spec/nodeName");
  if (node && config.nodeMetadata.enabled && node->name == nodeName) {
    nodeObject.AddMember("name", str(node->name, a), a);
    if (!node->uid.empty()) nodeObject.AddMember("uid", str(node->uid, a), a);
    addIfNotEmpty(nodeObject, "labels", labelObject(node->labels, config.nodeMetadata, a), a);
    addIfNotEmpty(nodeObject, "annotations", annotationObject(node->annotations, config.nodeMetadata, a), a);
    if (!node->hostname.empty()) nodeObject.AddMember("hostname", str(node->hostname, a), a);
  } else {
    nodeObject.AddMember("name", str(nodeName, a), a);
  }
  k8s.AddMember("node", nodeObject, a);
  if (container) {
    // kubernetes.container keeps the name; id, runtime and image go to the ECS container.* (Beats' Run).
    Value k8sContainer(rapidjson::kObjectType);
    k8sContainer.AddMember("name", str(container->name, a), a);
    k8s.AddMember("container", k8sContainer, a);
    Value ecs(rapidjson::kObjectType);
    if (!container->id.empty()) ecs.AddMember("id", str(container->id, a), a);
    if (!container->runtime.empty()) ecs.AddMember("runtime", str(container->runtime, a), a);
    Value image(rapidjson::kObjectType);
    image.AddMember("name", str(container->image, a), a);
    ecs.AddMember("image", image, a);
    doc.AddMember("container", ecs, a);
  }
  doc.AddMember("kubernetes", k8s, a);
  return serialize(doc);
}

std::vector<simdjson::dom::element> statuses(simdjson::dom::element pod) {
  std::vector<simdjson::dom::element> out;
  for (const char* path : {"/status/containerStatuses", "/status/initContainerStatuses", "/status/ephemeralContainerStatuses"}) {
    simdjson::dom::array list;
    if (pod.at_pointer(path).get_array().get(list) != simdjson::SUCCESS) continue;
    for (simdjson::dom::element status : list) out.push_back(status);
  }
  return out;
}

}  // namespace

core::Result<KubeObjectMeta> parseKubeObject(std::string_view json) {
  simdjson::dom::parser parser;
  auto doc = parse(parser, json, "object");
  if (!doc) return std::unexpected(doc.error());
  KubeObjectMeta meta;
  meta.name = stringAt(*doc, "/metadata/name");
  meta.uid = stringAt(*doc, "/metadata/uid");
  meta.labels = stringMap(*doc, "/metadata/labels");
  meta.annotations = stringMap(*doc, "/metadata/annotations");
  simdjson::dom::array addresses;
  if (doc->at_pointer("/status/addresses").get_array().get(addresses) == simdjson::SUCCESS) {
    for (simdjson::dom::element address : addresses) {
      if (stringAt(address, "/type") == "Hostname") meta.hostname = stringAt(address, "/address");
    }
  }
  if (meta.name.empty()) return core::fail(core::ErrorCode::Parse, "the Kubernetes API's object has no metadata.name");
  return meta;
}

core::Result<std::vector<std::string>> splitPodList(std::string_view json) {
  simdjson::dom::parser parser;
  auto doc = parse(parser, json, "PodList");
  if (!doc) return std::unexpected(doc.error());
  simdjson::dom::array items;
  if ((*doc)["items"].get_array().get(items) != simdjson::SUCCESS) {
    return core::fail(core::ErrorCode::Parse, "the Kubernetes API's PodList has no items");
  }
  std::vector<std::string> out;
  for (simdjson::dom::element item : items) out.push_back(simdjson::minify(item));
  return out;
}

core::Result<PodEntry> podEntry(std::string_view podJson) {
  simdjson::dom::parser parser;
  auto doc = parse(parser, podJson, "Pod");
  if (!doc) return std::unexpected(doc.error());
  PodEntry entry;
  entry.ns = stringAt(*doc, "/metadata/namespace");
  entry.key = entry.ns + "/" + stringAt(*doc, "/metadata/name");
  entry.nodeName = stringAt(*doc, "/spec/nodeName");
  simdjson::dom::element deletion;
  entry.terminating = doc->at_pointer("/metadata/deletionTimestamp").get(deletion) == simdjson::SUCCESS && !deletion.is_null();
  return entry;
}

core::Result<std::string> podNodeName(std::string_view podJson) {
  auto entry = podEntry(podJson);
  if (!entry) return std::unexpected(entry.error());
  return entry->nodeName;
}

core::Result<std::string> nodeWithMachineId(std::string_view json, std::string_view machineId) {
  simdjson::dom::parser parser;
  auto doc = parse(parser, json, "NodeList");
  if (!doc) return std::unexpected(doc.error());
  simdjson::dom::array items;
  if ((*doc)["items"].get_array().get(items) != simdjson::SUCCESS) {
    return core::fail(core::ErrorCode::Parse, "the Kubernetes API's NodeList has no items");
  }
  for (simdjson::dom::element node : items) {
    if (!machineId.empty() && stringAt(node, "/status/nodeInfo/machineID") == machineId) return stringAt(node, "/metadata/name");
  }
  return std::string();
}

std::vector<PodIndex> podIndexes(std::string_view podJson, const config::KubernetesMetadataConfig& config,
                                 const std::vector<std::string>& indexers, const KubeObjectMeta* node,
                                 const KubeObjectMeta* ns) {
  std::vector<PodIndex> out;
  simdjson::dom::parser parser;
  auto doc = parse(parser, podJson, "Pod");
  if (!doc) return out;
  const simdjson::dom::element pod = *doc;
  for (const auto& indexer : indexers) {
    if (indexer == "pod_name") {
      out.push_back({stringAt(pod, "/metadata/namespace") + "/" + stringAt(pod, "/metadata/name"), generate(pod, config, node, ns, nullptr)});
    } else if (indexer == "pod_uid") {
      out.push_back({stringAt(pod, "/metadata/uid"), generate(pod, config, node, ns, nullptr)});
    } else if (indexer == "container") {
      for (auto status : statuses(pod)) {
        const ContainerFields c = containerOf(stringAt(status, "/name"), stringAt(status, "/image"), stringAt(status, "/containerID"));
        if (c.id.empty()) continue;
        out.push_back({c.id, generate(pod, config, node, ns, &c)});
      }
    } else if (indexer == "ip_port") {
      const std::string ip = stringAt(pod, "/status/podIP");
      if (ip.empty()) continue;
      out.push_back({ip, generate(pod, config, node, ns, nullptr)});
      std::map<std::string, std::string> ids;
      for (auto status : statuses(pod)) ids[stringAt(status, "/name")] = stringAt(status, "/containerID");
      simdjson::dom::array containers;
      if (pod.at_pointer("/spec/containers").get_array().get(containers) != simdjson::SUCCESS) continue;
      for (simdjson::dom::element container : containers) {
        simdjson::dom::array ports;
        if (container["ports"].get_array().get(ports) != simdjson::SUCCESS) continue;
        const std::string name = stringAt(container, "/name");
        const ContainerFields c = containerOf(name, stringAt(container, "/image"), ids[name]);
        for (simdjson::dom::element port : ports) {
          std::int64_t number = 0;
          if (port["containerPort"].get_int64().get(number) != simdjson::SUCCESS || number == 0) continue;
          out.push_back({ip + ":" + std::to_string(number), generate(pod, config, node, ns, &c)});
        }
      }
    }
  }
  return out;
}

}  // namespace fim::enricher
