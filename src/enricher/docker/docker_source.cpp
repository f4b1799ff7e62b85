#include "enricher/docker/docker_source.h"

#include <algorithm>

#include "core/logging.h"

namespace fim::enricher {
namespace {

constexpr std::size_t kShortIdLength = 12;
constexpr std::chrono::seconds kUnknownRetry{5};  // an id Docker did not know is asked again after this

// A container id or name as the Engine API takes it in a path: nothing that could leave it.
bool plausibleId(std::string_view id) {
  return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-' || c == '.';
  }) && id.front() != '.';
}

std::string seconds(config::Duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count() / 1000.0).substr(0, 6) + "s";
}

}  // namespace

core::Result<std::unique_ptr<DockerSource>> DockerSource::start(const config::DockerMetadataConfig& config, core::Metrics* metrics) {
  auto client = DockerClient::create(config);
  if (!client) return std::unexpected(client.error());
  std::unique_ptr<DockerSource> source(new DockerSource(config, std::move(*client), metrics));
  bool connected = false;
  if (config.waitForMetadata) {
    connected = source->connect({}) || source->retryConnect({}, true);
    if (!connected) {
      return core::failf(core::ErrorCode::Unavailable, "add_docker_metadata: could not connect to docker at {} within "
                         "wait_for_metadata_timeout ({})", config.host, seconds(config.waitForMetadataTimeout));
    }
  }
  source->thread_ = std::jthread([raw = source.get(), connected](std::stop_token stop) {
    try {
      raw->run(stop, connected);
    } catch (const std::exception& e) {
      core::logger("enricher").error("add_docker_metadata stopped by an unexpected error: {}", e.what());
    }
  });
  return source;
}

DockerSource::DockerSource(const config::DockerMetadataConfig& config, std::unique_ptr<DockerClient> client,
                           core::Metrics* metrics)
    : config_(config), client_(std::move(client)) {
  if (metrics) {
    lookups_ = &metrics->counter("enricher.docker.lookups");
    inspections_ = &metrics->counter("enricher.docker.inspections");
  }
}

DockerSource::~DockerSource() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
}

bool DockerSource::pause(std::stop_token stop, config::Duration howLong) {
  std::unique_lock lock(waitMutex_);
  wake_.wait_for(lock, stop, howLong, [] { return false; });
  return !stop.stop_requested();
}

bool DockerSource::connect(std::stop_token stop) {
  if (auto ok = client_->negotiate(stop); !ok) {
    lastError_ = ok.error().message();
    return false;
  }
  auto listed = client_->list(stop);
  if (!listed) {
    lastError_ = listed.error().message();
    return false;
  }
  const auto now = Clock::now();
  {
    std::lock_guard lock(mutex_);
    for (auto& c : *listed) {
      auto shared = std::make_shared<const mapper::processors::ContainerMetadata>(std::move(c));
      containers_[shared->id] = Entry{shared, now, false};
      if (config_.matchShortId && shared->id.size() > kShortIdLength) {
        containers_[shared->id.substr(0, kShortIdLength)] = Entry{shared, now, false};
      }
    }
  }
  available_.store(true, std::memory_order_release);
  core::logger("enricher").info("add_docker_metadata: connected to docker at {} (API {}), {} running container(s)",
                                config_.host, client_->apiVersion(), listed->size());
  return true;
}

bool DockerSource::retryConnect(std::stop_token stop, bool logFirst) {
  auto& log = core::logger("enricher");
  if (logFirst) {
    log.warn("add_docker_metadata: could not connect to docker at {}: {}; events get no container metadata until it "
             "answers (retrying every {}, for at most {}; 0 = indefinitely)",
             config_.host, lastError_, seconds(config_.waitForMetadataRetryPeriod), seconds(config_.waitForMetadataTimeout));
  }
  const auto deadline = Clock::now() + config_.waitForMetadataTimeout;
  const bool forever = config_.waitForMetadataTimeout == config::Duration::zero();
  while (forever || Clock::now() < deadline) {
    if (!pause(stop, config_.waitForMetadataRetryPeriod)) return false;
    if (connect(stop)) return true;
  }
  log.warn("add_docker_metadata: stopped retrying docker at {} after wait_for_metadata_timeout ({}): {}; events get no "
           "container metadata", config_.host, seconds(config_.waitForMetadataTimeout), lastError_);
  return false;
}

void DockerSource::refresh(std::stop_token stop) {
  auto listed = client_->list(stop);
  if (!listed) {
    if (!stop.stop_requested()) {
      core::logger("enricher").warn("add_docker_metadata: listing containers at {} failed: {}; known containers are kept",
                                    config_.host, listed.error().message());
    }
    return;
  }
  const auto now = Clock::now();
  std::lock_guard lock(mutex_);
  for (auto& [key, entry] : containers_) entry.gone = true;
  for (auto& c : *listed) {
    auto shared = std::make_shared<const mapper::processors::ContainerMetadata>(std::move(c));
    for (std::string key : {shared->id, config_.matchShortId ? shared->id.substr(0, kShortIdLength) : std::string()}) {
      if (key.empty()) continue;
      auto& entry = containers_[key];
      entry.container = shared;
      entry.gone = false;
      if (entry.lastAccess == Clock::time_point()) entry.lastAccess = now;
    }
  }
  // Beats keeps a stopped container's metadata until it has gone unasked for a whole cleanup_timeout.
  std::erase_if(containers_, [&](const auto& e) { return e.second.gone && now - e.second.lastAccess >= config_.cleanupTimeout; });
  std::erase_if(unknown_, [&](const auto& e) { return e.second <= now; });
}

void DockerSource::run(std::stop_token stop, bool connected) {
  if (!connected && !connect(stop) && !retryConnect(stop, !stop.stop_requested())) return;
  const config::Duration period = std::max<config::Duration>(config_.cleanupTimeout, std::chrono::seconds(1));
  while (pause(stop, period)) refresh(stop);
}

std::shared_ptr<const mapper::processors::ContainerMetadata> DockerSource::container(std::string_view id) {
  if (lookups_) lookups_->add();
  if (!available() || !plausibleId(id)) return nullptr;
  const auto now = Clock::now();
  {
    std::lock_guard lock(mutex_);
    if (auto it = containers_.find(id); it != containers_.end()) {
      it->second.lastAccess = now;
      return it->second.container;
    }
    if (auto it = unknown_.find(id); it != unknown_.end() && it->second > now) return nullptr;
  }
  if (inspections_) inspections_->add();
  auto inspected = client_->inspect(std::string(id));
  std::lock_guard lock(mutex_);
  if (!inspected || !*inspected) {
    unknown_[std::string(id)] = now + kUnknownRetry;  // not asked again at once: a burst of its events costs one request
    return nullptr;
  }
  auto shared = std::make_shared<const mapper::processors::ContainerMetadata>(std::move(**inspected));
  containers_[std::string(id)] = Entry{shared, now, false};
  if (shared->id != id) containers_[shared->id] = Entry{shared, now, false};
  return shared;
}

}  // namespace fim::enricher
