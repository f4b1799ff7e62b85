#include "enricher/kubernetes/kube_config.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/base64.h"

namespace fim::enricher {
namespace {

std::optional<std::string> readText(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The entry named `name` in a kubeconfig list (clusters, users, contexts): its inner map.
YAML::Node named(const YAML::Node& list, const std::string& name, const char* inner) {
  if (!list || !list.IsSequence()) return YAML::Node();
  for (const auto& item : list) {
    if (item["name"] && item["name"].as<std::string>("") == name) return item[inner];
  }
  return YAML::Node();
}

std::string scalar(const YAML::Node& node, const char* key) {
  return node && node[key] && node[key].IsScalar() ? node[key].as<std::string>("") : std::string();
}

// A relative path in a kubeconfig is relative to the file.
std::string relativeTo(const std::string& file, const std::string& path) {
  if (path.empty() || path.front() == '/') return path;
  const std::size_t slash = file.rfind('/');
  return slash == std::string::npos ? path : file.substr(0, slash + 1) + path;
}

}  // namespace

core::Result<KubeConnection> parseKubeConfig(const std::string& yamlText, const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::Load(yamlText);
  } catch (const YAML::Exception& e) {
    return core::failf(core::ErrorCode::Parse, "kube_config {} is not YAML: {}", path, e.what());
  }
  const std::string current = scalar(root, "current-context");
  if (current.empty()) return core::failf(core::ErrorCode::InvalidArgument, "kube_config {} has no current-context", path);
  const YAML::Node context = named(root["contexts"], current, "context");
  if (!context) return core::failf(core::ErrorCode::InvalidArgument, "kube_config {}: context \"{}\" is not defined", path, current);
  const std::string clusterName = scalar(context, "cluster");
  const YAML::Node cluster = named(root["clusters"], clusterName, "cluster");
  if (!cluster) return core::failf(core::ErrorCode::InvalidArgument, "kube_config {}: cluster \"{}\" is not defined", path, clusterName);
  KubeConnection c;
  c.source = "kube_config " + path;
  c.server = scalar(cluster, "server");
  if (c.server.empty()) return core::failf(core::ErrorCode::InvalidArgument, "kube_config {}: cluster \"{}\" has no server", path, clusterName);
  c.ns = scalar(context, "namespace");
  if (const auto ca = scalar(cluster, "certificate-authority"); !ca.empty()) c.ssl.certificateAuthorities.push_back(relativeTo(path, ca));
  if (const auto data = scalar(cluster, "certificate-authority-data"); !data.empty()) {
    auto pem = core::base64Decode(data);
    if (!pem) return core::failf(core::ErrorCode::InvalidArgument, "kube_config {}: certificate-authority-data is not base64", path);
    c.ssl.certificateAuthorities.push_back(*pem);  // inline PEM
  }
  if (scalar(cluster, "insecure-skip-tls-verify") == "true") c.ssl.verificationMode = config::SslVerificationMode::None;
  const std::string userName = scalar(context, "user");
  const YAML::Node user = named(root["users"], userName, "user");
  if (user) {
    c.token = scalar(user, "token");
    c.tokenFile = relativeTo(path, scalar(user, "tokenFile"));
    c.username = scalar(user, "username");
    c.password = scalar(user, "password");
    c.ssl.certificate = relativeTo(path, scalar(user, "client-certificate"));
    c.ssl.key = relativeTo(path, scalar(user, "client-key"));
    if (!scalar(user, "client-certificate-data").empty() || !scalar(user, "client-key-data").empty()) {
      return core::failf(core::ErrorCode::InvalidArgument,
                         "kube_config {}: user \"{}\" has client-certificate-data/client-key-data, which fimbeat does "
                         "not read; write them to files and use client-certificate and client-key",
                         path, userName);
    }
    if (user["exec"] || user["auth-provider"]) {
      return core::failf(core::ErrorCode::InvalidArgument,
                         "kube_config {}: user \"{}\" authenticates with exec or auth-provider, which fimbeat does not "
                         "run; use a token, tokenFile or a client certificate", path, userName);
    }
  }
  return c;
}

core::Result<KubeConnection> inClusterConnection(const std::map<std::string, std::string>& env, const std::string& accountDir) {
  const auto host = env.find("KUBERNETES_SERVICE_HOST");
  const auto port = env.find("KUBERNETES_SERVICE_PORT");
  if (host == env.end() || port == env.end() || host->second.empty() || port->second.empty()) {
    return core::fail(core::ErrorCode::NotFound,
                      "not in a Kubernetes cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set, "
                      "and neither kube_config nor KUBECONFIG names a kubeconfig file");
  }
  KubeConnection c;
  c.inCluster = true;
  c.source = "the in-cluster service account";
  const bool v6 = host->second.find(':') != std::string::npos;
  c.server = "https://" + (v6 ? "[" + host->second + "]" : host->second) + ":" + port->second;
  c.tokenFile = accountDir + "/token";
  if (!readText(c.tokenFile)) {
    return core::failf(core::ErrorCode::NotFound, "in-cluster: the service account token {} cannot be read", c.tokenFile);
  }
  c.ssl.certificateAuthorities.push_back(accountDir + "/ca.crt");
  if (auto ns = readText(accountDir + "/namespace")) {
    c.ns = *ns;
    while (!c.ns.empty() && (c.ns.back() == '\n' || c.ns.back() == ' ')) c.ns.pop_back();
  }
  return c;
}

core::Result<KubeConnection> resolveKubeConnection(const std::string& kubeConfig) {
  std::string path = kubeConfig;
  if (path.empty()) {
    if (const char* env = std::getenv("KUBECONFIG"); env && *env) path = env;
  }
  if (!path.empty()) {
    auto text = readText(path);
    if (!text) return core::failf(core::ErrorCode::NotFound, "kube_config {} cannot be read", path);
    return parseKubeConfig(*text, path);
  }
  std::map<std::string, std::string> env;
  for (const char* name : {"KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"}) {
    if (const char* value = std::getenv(name)) env[name] = value;
  }
  return inClusterConnection(env);
}

}  // namespace fim::enricher
