// add_kubernetes_metadata's connection settings and the metadata it builds from the Kubernetes
// API's objects (API reference v1: Pod, Node, Namespace; kubeconfig as kubectl writes it).

#include <doctest/doctest.h>

#include <fstream>

#include <rapidjson/document.h>

#include "enricher/kubernetes/kube_config.h"
#include "enricher/kubernetes/pod_metadata.h"
#include "support/temp_dir.h"

using namespace fim;

namespace {

const char* const kPod = R"({"kind": "Pod", "apiVersion": "v1",
  "metadata": {"name": "web-7d4b9c8f5-abcde", "namespace": "shop", "uid": "2f2c6c38-1111-4a8e-9d3e-0a1b2c3d4e5f",
               "labels": {"app": "web", "app.kubernetes.io/name": "web"},
               "annotations": {"team": "payments", "note": "x"},
               "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d4b9c8f5",
                                    "uid": "u", "controller": true}]},
  "spec": {"nodeName": "node-1", "containers": [{"name": "nginx", "image": "nginx:1.25",
                                                 "ports": [{"containerPort": 80, "protocol": "TCP"}]}]},
  "status": {"phase": "Running", "podIP": "10.244.1.7",
             "containerStatuses": [{"name": "nginx", "image": "docker.io/library/nginx:1.25",
                                    "containerID": "containerd://4f1e2d3c4b5a69788796a5b4c3d2e1f04f1e2d3c4b5a69788796a5b4c3d2e1f0",
                                    "ready": true}]}})";

rapidjson::Document parse(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.c_str());
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

}  // namespace

TEST_CASE("kubernetes: a kubeconfig's current context gives the server, CA, token and namespace") {
  const std::string yaml = R"(apiVersion: v1
kind: Config
current-context: test
contexts:
- name: other
  context: {cluster: nowhere, user: nobody}
- name: test
  context: {cluster: kind, user: fimbeat, namespace: shop}
clusters:
- name: kind
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority: ca.crt
users:
- name: fimbeat
  user:
    tokenFile: /var/run/token
)";
  auto c = enricher::parseKubeConfig(yaml, "/etc/fimbeat/kubeconfig");
  REQUIRE_MESSAGE(c.has_value(), (c ? "" : c.error().message()));
  CHECK(c->server == "https://127.0.0.1:6443");
  CHECK(c->ssl.certificateAuthorities == std::vector<std::string>{"/etc/fimbeat/ca.crt"});  // relative to the file
  CHECK(c->tokenFile == "/var/run/token");
  CHECK(c->ns == "shop");
  CHECK_FALSE(c->inCluster);

  auto data = enricher::parseKubeConfig(
      "current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
      "clusters: [{name: k, cluster: {server: 'https://k:443', certificate-authority-data: 'LS0tLS1CRUdJTg==', "
      "insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: abc}}]\n",
      "/k");
  REQUIRE(data.has_value());
  CHECK(data->ssl.certificateAuthorities == std::vector<std::string>{"-----BEGIN"});
  CHECK(data->token == "abc");
  CHECK(data->ssl.verificationMode == config::SslVerificationMode::None);

  CHECK(enricher::parseKubeConfig("kind: Config\n", "/k").error().message() == "kube_config /k has no current-context");
  auto exec = enricher::parseKubeConfig(
      "current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
      "clusters: [{name: k, cluster: {server: 'https://k'}}]\nusers: [{name: u, user: {exec: {command: aws}}}]\n",
      "/k");
  REQUIRE_FALSE(exec.has_value());
  CHECK(exec.error().message().find("exec or auth-provider") != std::string::npos);
}

TEST_CASE("kubernetes: in-cluster needs the service host and port and the service account's token") {
  testing::TempDir dir;
  CHECK_FALSE(enricher::inClusterConnection({}, dir.str()).has_value());
  const std::map<std::string, std::string> env{{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}};
  auto missing = enricher::inClusterConnection(env, dir.str());
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().message().find("token") != std::string::npos);
  dir.write("token", "secret-token\n");
  dir.write("namespace", "kube-system\n");
  auto c = enricher::inClusterConnection(env, dir.str());
  REQUIRE(c.has_value());
  CHECK(c->server == "https://10.96.0.1:443");
  CHECK(c->tokenFile == dir.str() + "/token");
  CHECK(c->ssl.certificateAuthorities == std::vector<std::string>{dir.str() + "/ca.crt"});
  CHECK(c->ns == "kube-system");
  CHECK(c->inCluster);
  auto v6 = enricher::inClusterConnection({{"KUBERNETES_SERVICE_HOST", "fd00::1"}, {"KUBERNETES_SERVICE_PORT", "443"}}, dir.str());
  CHECK(v6->server == "https://[fd00::1]:443");
}

TEST_CASE("kubernetes: the container indexer's metadata, as Beats' metadata generator and Run shape it") {
  config::KubernetesMetadataConfig config;
  config.pod.includeAnnotations = {"^team$"};
  enricher::KubeObjectMeta node{"node-1", "n-uid", {{"kubernetes.io/os", "linux"}}, {}, "node-1.example"};
  enricher::KubeObjectMeta ns{"shop", "ns-uid", {{"env", "prod"}}, {}, ""};
  auto indexes = enricher::podIndexes(kPod, config, {"container", "pod_name", "pod_uid", "ip_port"}, &node, &ns);
  REQUIRE(indexes.size() == 5);
  const std::string id = "4f1e2d3c4b5a69788796a5b4c3d2e1f04f1e2d3c4b5a69788796a5b4c3d2e1f0";
  CHECK(indexes[0].index == id);
  auto doc = parse(indexes[0].json);
  const auto& k = doc["kubernetes"];
  CHECK(std::string(k["pod"]["name"].GetString()) == "web-7d4b9c8f5-abcde");
  CHECK(std::string(k["pod"]["uid"].GetString()) == "2f2c6c38-1111-4a8e-9d3e-0a1b2c3d4e5f");
  CHECK(std::string(k["pod"]["ip"].GetString()) == "10.244.1.7");
  CHECK(std::string(k["namespace"].GetString()) == "shop");
  CHECK(std::string(k["namespace_uid"].GetString()) == "ns-uid");
  CHECK(std::string(k["namespace_labels"]["env"].GetString()) == "prod");
  CHECK(std::string(k["node"]["name"].GetString()) == "node-1");
  CHECK(std::string(k["node"]["uid"].GetString()) == "n-uid");
  CHECK(std::string(k["node"]["hostname"].GetString()) == "node-1.example");
  CHECK(std::string(k["node"]["labels"]["kubernetes_io/os"].GetString()) == "linux");
  CHECK(std::string(k["labels"]["app_kubernetes_io/name"].GetString()) == "web");  // dedotted
  CHECK(std::string(k["annotations"]["team"].GetString()) == "payments");
  CHECK_FALSE(k["annotations"].HasMember("note"));  // only include_annotations
  CHECK(std::string(k["replicaset"]["name"].GetString()) == "web-7d4b9c8f5");
  CHECK(std::string(k["container"]["name"].GetString()) == "nginx");
  CHECK_FALSE(k["container"].HasMember("image"));  // moved to the ECS container.image.name
  CHECK(std::string(doc["container"]["id"].GetString()) == id);
  CHECK(std::string(doc["container"]["runtime"].GetString()) == "containerd");
  CHECK(std::string(doc["container"]["image"]["name"].GetString()) == "docker.io/library/nginx:1.25");

  CHECK(indexes[1].index == "shop/web-7d4b9c8f5-abcde");
  CHECK_FALSE(parse(indexes[1].json).HasMember("container"));
  CHECK(indexes[2].index == "2f2c6c38-1111-4a8e-9d3e-0a1b2c3d4e5f");
  CHECK(indexes[3].index == "10.244.1.7");
  CHECK(indexes[4].index == "10.244.1.7:80");

  config.pod.labelsDedot = false;
  config.namespaceMetadata.enabled = false;
  auto plain = parse(enricher::podIndexes(kPod, config, {"pod_uid"}, nullptr, &ns)[0].json);
  // Nested by the dots; "app" is also a prefix of another label: its value goes under "value".
  CHECK(std::string(plain["kubernetes"]["labels"]["app"]["kubernetes"]["io/name"].GetString()) == "web");
  CHECK(std::string(plain["kubernetes"]["labels"]["app"]["value"].GetString()) == "web");
  CHECK_FALSE(plain["kubernetes"].HasMember("namespace_uid"));
  CHECK(std::string(plain["kubernetes"]["node"]["name"].GetString()) == "node-1");  // no node object: its name
}

TEST_CASE("kubernetes: PodList, a terminating pod, Node and NodeList answers") {
  auto pods = enricher::splitPodList(std::string(R"({"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[)") + kPod + "]}");
  REQUIRE(pods.has_value());
  REQUIRE(pods->size() == 1);
  auto entry = enricher::podEntry((*pods)[0]);
  REQUIRE(entry.has_value());
  CHECK(entry->key == "shop/web-7d4b9c8f5-abcde");
  CHECK_FALSE(entry->terminating);
  CHECK(enricher::podEntry(R"({"metadata":{"name":"a","namespace":"b","deletionTimestamp":"2024-01-01T00:00:00Z"}})")->terminating);
  auto node = enricher::parseKubeObject(R"({"kind":"Node","metadata":{"name":"node-1","uid":"u","labels":{"a":"b"}},
    "status":{"addresses":[{"type":"InternalIP","address":"10.0.0.1"},{"type":"Hostname","address":"node-1"}],
              "nodeInfo":{"machineID":"m1"}}})");
  REQUIRE(node.has_value());
  CHECK(node->hostname == "node-1");
  CHECK(enricher::nodeWithMachineId(R"({"kind":"NodeList","items":[{"metadata":{"name":"x"},"status":{"nodeInfo":{"machineID":"m0"}}},
    {"metadata":{"name":"node-1"},"status":{"nodeInfo":{"machineID":"m1"}}}]})", "m1").value() == "node-1");
  CHECK_FALSE(enricher::splitPodList(R"({"kind":"Status","status":"Failure"})").has_value());
}
