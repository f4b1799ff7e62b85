#pragma once
// PodSource for add_kubernetes_metadata. A background thread connects to the Kubernetes API
// (kube_config, KUBECONFIG or in-cluster), finds the node (`node`, NODE_NAME, the pod named by
// the host name in-cluster, or the node whose machine id is this host's), and lists the node's
// pods (scope: node; every pod with scope: cluster), with the node's and their namespaces'
// metadata, again every sync_period. An index no pod has is looked up again by listing the pods
// (at most every 5 s), so that a pod started since is found when its first event arrives. A pod
// gone from the list is forgotten once it has not been asked for during cleanup_timeout. The
// requests follow the Kubernetes API reference (v1): GET /api/v1/pods or
// /api/v1/namespaces/{ns}/pods with fieldSelector=spec.nodeName=<node>, GET /api/v1/nodes/{name},
// GET /api/v1/namespaces/{name}, each with the bearer token.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "core/metrics.h"
#include "enricher/kubernetes/kube_config.h"
#include "enricher/kubernetes/pod_metadata.h"
#include "mapper/processors/metadata_sources.h"
#include "output/elasticsearch/http_client.h"

namespace fim::enricher {

class PodSource final : public mapper::processors::PodSource {
 public:
  using Clock = std::chrono::steady_clock;

  // `machineId` (host.id) finds the node when nothing else names it. Never fails for an
  // unreachable API: a warning names what was tried and events get no kubernetes.* fields.
  static std::unique_ptr<PodSource> start(const config::KubernetesMetadataConfig& config, std::string machineId,
                                          core::Metrics* metrics = nullptr);
  ~PodSource() override;

  std::shared_ptr<const mapper::processors::PodMetadata> lookup(std::string_view index) override;

 private:
  PodSource(const config::KubernetesMetadataConfig& config, std::string machineId, core::Metrics* metrics);
  void run(std::stop_token stop);
  bool connect(std::stop_token stop);
  [[nodiscard]] core::Status discoverNode(std::stop_token stop);
  [[nodiscard]] core::Status list(std::stop_token stop);
  [[nodiscard]] core::Result<std::string> get(const std::string& path, std::stop_token stop);
  bool pause(std::stop_token stop, config::Duration howLong);

  struct Entry {
    std::shared_ptr<const mapper::processors::PodMetadata> metadata;
    Clock::time_point lastAccess;
    bool gone = false;
  };

  config::KubernetesMetadataConfig config_;
  std::vector<std::string> indexers_;
  std::string machineId_;
  KubeConnection connection_;
  std::unique_ptr<output::es::HttpClient> http_;
  std::mutex httpMutex_;  // one request at a time
  std::string node_;
  std::atomic<bool> available_{false};
  std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> entries_;
  Clock::time_point lastList_;
  core::Counter* lookups_ = nullptr;
  core::Counter* lists_ = nullptr;
  std::mutex waitMutex_;
  std::condition_variable_any wake_;
  std::jthread thread_;
};

}  // namespace fim::enricher
