#include "enricher/observer_source.h"

#include "enricher/host_info.h"
#include "enricher/net_info.h"

namespace fim::enricher {
namespace {

std::shared_ptr<const mapper::processors::ObserverData> readObserver(bool netinfo) {
  auto data = std::make_shared<mapper::processors::ObserverData>();
  data->hostname = localHostName();
  if (netinfo) {
    NetInfo net = readNetInfo();
    data->ip = std::move(net.ip);
    data->mac = std::move(net.mac);
  }
  return data;
}

}  // namespace

ObserverSource::ObserverSource(const config::ObserverMetadataConfig& config)
    : netinfo_(config.netinfo), ttl_(config.cacheTtl), data_(readObserver(config.netinfo)),
      readAt_(std::chrono::steady_clock::now()) {}

std::shared_ptr<const mapper::processors::ObserverData> ObserverSource::current() {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  if (ttl_ <= config::Duration::zero() || now - readAt_ >= ttl_) {  // Beats: a ttl <= 0 reads every time
    data_ = readObserver(netinfo_);
    readAt_ = now;
  }
  return data_;
}

}  // namespace fim::enricher
