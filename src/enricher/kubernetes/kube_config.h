#pragma once
// Where the Kubernetes API is and how to authenticate, found as Beats' client finds it: the
// `kube_config` file, else the file KUBECONFIG names, else in-cluster (KUBERNETES_SERVICE_HOST
// and KUBERNETES_SERVICE_PORT, with the pod's service account token and CA under
// /var/run/secrets/kubernetes.io/serviceaccount).

#include <map>
#include <optional>
#include <string>

#include "config/output_config.h"
#include "core/result.h"

namespace fim::enricher {

inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

struct KubeConnection {
  std::string server;     // https://host:port
  std::string token;      // bearer token (secret); tokenFile wins when set
  std::string tokenFile;  // read again for every request: kubelet rotates it
  std::string username;   // basic auth
  std::string password;   // secret
  config::ElasticsearchSslConfig ssl;  // CA (file or inline PEM), client certificate and key files, verification
  std::string ns;         // the context's namespace, or the service account's
  bool inCluster = false;
  std::string source;     // what it was read from, for messages
};

// A kubeconfig file's current context (clusters, users, contexts as kubectl writes them).
[[nodiscard]] core::Result<KubeConnection> parseKubeConfig(const std::string& yamlText, const std::string& path);

// In-cluster: the environment (KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT) and the files
// under `accountDir`.
[[nodiscard]] core::Result<KubeConnection> inClusterConnection(const std::map<std::string, std::string>& environment,
                                                             const std::string& accountDir = kServiceAccountDir);

// kube_config, else $KUBECONFIG, else in-cluster.
[[nodiscard]] core::Result<KubeConnection> resolveKubeConnection(const std::string& kubeConfig);

}  // namespace fim::enricher
