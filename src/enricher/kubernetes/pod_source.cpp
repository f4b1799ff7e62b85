#include "enricher/kubernetes/pod_source.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "core/logging.h"
#include "enricher/host_info.h"

namespace fim::enricher {
namespace {

constexpr std::chrono::seconds kRequestTimeout{10};
constexpr std::chrono::seconds kRelistAfterMiss{5};
constexpr std::chrono::seconds kRetryConnect{10};

// A DNS subdomain (RFC 1123), as node and namespace names are: safe in a URL path.
bool dnsName(std::string_view name) {
  return !name.empty() && name.size() <= 253 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  });
}

std::string readToken(const KubeConnection& c) {
  if (c.tokenFile.empty()) return c.token;
  std::ifstream in(c.tokenFile);
  std::stringstream text;
  text << in.rdbuf();
  std::string token = text.str();
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
  return token;
}

}  // namespace

std::unique_ptr<PodSource> PodSource::start(const config::KubernetesMetadataConfig& config, std::string machineId,
                                            core::Metrics* metrics) {
  std::unique_ptr<PodSource> source(new PodSource(config, std::move(machineId), metrics));
  source->thread_ = std::jthread([raw = source.get()](std::stop_token stop) {
    try {
      raw->run(stop);
    } catch (const std::exception& e) {
      core::logger("enricher").error("add_kubernetes_metadata stopped by an unexpected error: {}", e.what());
    }
  });
  return source;
}

PodSource::PodSource(const config::KubernetesMetadataConfig& config, std::string machineId, core::Metrics* metrics)
    : config_(config), machineId_(std::move(machineId)) {
  indexers_ = config.indexers;
  if (config.defaultIndexers && std::find(indexers_.begin(), indexers_.end(), "container") == indexers_.end()) {
    indexers_.push_back("container");  // fimbeat's default indexer: pods by their containers' ids
  }
  if (metrics) {
    lookups_ = &metrics->counter("enricher.kubernetes.lookups");
    lists_ = &metrics->counter("enricher.kubernetes.lists");
  }
}

PodSource::~PodSource() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
}

bool PodSource::pause(std::stop_token stop, config::Duration howLong) {
  std::unique_lock lock(waitMutex_);
  wake_.wait_for(lock, stop, howLong, [] { return false; });
  return !stop.stop_requested();
}

core::Result<std::string> PodSource::get(const std::string& path, std::stop_token stop) {
  std::lock_guard lock(httpMutex_);
  output::es::HttpRequest request;
  request.path = path;
  if (const std::string token = readToken(connection_); !token.empty()) {
    request.headers["Authorization"] = "Bearer " + token;
  }
  auto response = http_->send(request, stop);
  if (!response) return std::unexpected(response.error().context("GET " + path));
  if (response->status != 200) {
    return core::failf(core::ErrorCode::Unavailable, "GET {}: HTTP {}: {}", path, response->status, response->body.substr(0, 300));
  }
  return std::move(response->body);
}

bool PodSource::connect(std::stop_token stop) {
  auto connection = resolveKubeConnection(config_.kubeConfig);
  auto& log = core::logger("enricher");
  if (!connection) {
    log.warn("add_kubernetes_metadata: {}; events get no kubernetes.* fields", connection.error().message());
    return false;
  }
  connection_ = std::move(*connection);
  auto url = output::es::parseHostUrl(connection_.server, "https", "", 443);
  if (!url) {
    log.warn("add_kubernetes_metadata: the API server {} from {} is not a URL: {}", connection_.server, connection_.source,
             url.error().message());
    return false;
  }
  output::es::HttpClientOptions options;
  options.timeout = kRequestTimeout;
  options.ssl = connection_.ssl;
  options.username = connection_.username;
  options.password = connection_.password;
  options.proxyDisable = true;
  http_ = std::make_unique<output::es::HttpClient>(*url, std::move(options));
  for (bool warned = false;;) {
    auto found = discoverNode(stop);
    if (found) break;
    if (stop.stop_requested()) return false;
    if (!warned) {
      log.warn("add_kubernetes_metadata: the Kubernetes API at {} (from {}) cannot be used: {}; events get no "
               "kubernetes.* fields until it answers (retrying every {} s)",
               connection_.server, connection_.source, found.error().message(), kRetryConnect.count());
      warned = true;
    }
    if (!pause(stop, kRetryConnect)) return false;
  }
  return true;
}

core::Status PodSource::discoverNode(std::stop_token stop) {
  if (config_.scope == "cluster") return {};
  if (!config_.node.empty()) {
    node_ = config_.node;
  } else if (const char* env = std::getenv("NODE_NAME"); env && *env) {
    node_ = env;
  } else if (connection_.inCluster && dnsName(connection_.ns) && dnsName(localHostName())) {
    auto pod = get("/api/v1/namespaces/" + connection_.ns + "/pods/" + localHostName(), stop);
    if (!pod) return std::unexpected(pod.error());
    auto name = podNodeName(*pod);
    if (!name) return std::unexpected(name.error());
    node_ = *name;
  } else {
    auto nodes = get("/api/v1/nodes", stop);
    if (!nodes) return std::unexpected(nodes.error());
    auto name = nodeWithMachineId(*nodes, machineId_);
    if (!name) return std::unexpected(name.error());
    node_ = *name;
  }
  if (!dnsName(node_)) {
    return core::failf(core::ErrorCode::NotFound, "the node this host is could not be found (\"{}\"); set `node`", node_);
  }
  return {};
}

core::Status PodSource::list(std::stop_token stop) {
  if (lists_) lists_->add();
  std::string path = config_.ns.empty() ? "/api/v1/pods" : "/api/v1/namespaces/" + config_.ns + "/pods";
  if (config_.scope == "node") path += "?fieldSelector=spec.nodeName%3D" + node_;
  auto body = get(path, stop);
  if (!body) return std::unexpected(body.error());
  auto pods = splitPodList(*body);
  if (!pods) return std::unexpected(pods.error());
  std::optional<KubeObjectMeta> node;
  if (config_.scope == "node" && config_.nodeMetadata.enabled) {
    if (auto text = get("/api/v1/nodes/" + node_, stop)) {
      if (auto parsed = parseKubeObject(*text)) node = std::move(*parsed);
    }
  }
  std::map<std::string, KubeObjectMeta> namespaces;
  std::vector<std::pair<PodEntry, std::string>> current;
  for (auto& pod : *pods) {
    auto entry = podEntry(pod);
    if (!entry || entry->terminating) continue;  // Beats stops indexing a pod being deleted
    if (config_.namespaceMetadata.enabled && !namespaces.contains(entry->ns) && dnsName(entry->ns)) {
      if (auto text = get("/api/v1/namespaces/" + entry->ns, stop)) {
        if (auto parsed = parseKubeObject(*text)) namespaces.emplace(entry->ns, std::move(*parsed));
      }
    }
    current.emplace_back(std::move(*entry), std::move(pod));
  }
  const auto now = Clock::now();
  std::map<std::string, std::shared_ptr<const mapper::processors::PodMetadata>> fresh;
  for (const auto& [entry, pod] : current) {
    const KubeObjectMeta* ns = namespaces.contains(entry.ns) ? &namespaces.at(entry.ns) : nullptr;
    for (auto& index : podIndexes(pod, config_, indexers_, node ? &*node : nullptr, ns)) {
      fresh.emplace(index.index, std::make_shared<const mapper::processors::PodMetadata>(mapper::processors::PodMetadata{std::move(index.json)}));
    }
  }
  std::lock_guard lock(mutex_);
  for (auto& [key, entry] : entries_) entry.gone = true;
  for (auto& [index, metadata] : fresh) {
    auto& entry = entries_[index];
    entry.metadata = std::move(metadata);
    entry.gone = false;
    if (entry.lastAccess == Clock::time_point()) entry.lastAccess = now;
  }
  std::erase_if(entries_, [&](const auto& e) { return e.second.gone && now - e.second.lastAccess >= config_.cleanupTimeout; });
  lastList_ = now;
  return {};
}

void PodSource::run(std::stop_token stop) {
  if (!connect(stop)) return;
  auto& log = core::logger("enricher");
  bool failing = false;
  while (!stop.stop_requested()) {
    if (auto listed = list(stop); !listed) {
      if (stop.stop_requested()) return;
      if (!failing) log.warn("add_kubernetes_metadata: listing pods at {} failed: {}", connection_.server, listed.error().message());
      failing = true;
      if (!pause(stop, kRetryConnect)) return;
      continue;
    }
    if (!available_.exchange(true)) {
      std::lock_guard lock(mutex_);
      log.info("add_kubernetes_metadata: watching the pods of {} at {} (from {}), {} index(es)",
               config_.scope == "node" ? "node " + node_ : std::string("the cluster"), connection_.server,
               connection_.source, entries_.size());
    }
    failing = false;
    if (!pause(stop, std::max<config::Duration>(config_.syncPeriod, std::chrono::seconds(1)))) return;
  }
}

std::shared_ptr<const mapper::processors::PodMetadata> PodSource::lookup(std::string_view index) {
  if (lookups_) lookups_->add();
  if (!available_.load(std::memory_order_acquire)) return nullptr;
  const auto now = Clock::now();
  bool relist = false;
  {
    std::lock_guard lock(mutex_);
    if (auto it = entries_.find(index); it != entries_.end()) {
      it->second.lastAccess = now;
      return it->second.metadata;
    }
    relist = now - lastList_ >= kRelistAfterMiss;
    if (relist) lastList_ = now;  // one re-list at a time
  }
  if (!relist || !list({})) return nullptr;  // a pod started since the last list
  std::lock_guard lock(mutex_);
  if (auto it = entries_.find(index); it != entries_.end()) {
    it->second.lastAccess = now;
    return it->second.metadata;
  }
  return nullptr;
}

}  // namespace fim::enricher
