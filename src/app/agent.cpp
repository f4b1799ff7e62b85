#include "app/agent.h"

#include "core/paths.h"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>

#include "app/commands.h"
#include "app/metadata_sources.h"
#include "baseline/database_format.h"
#include "baseline/rebuild.h"
#include "baseline/rocksdb_store.h"
#include "core/logging.h"
#include "management/beat_stats.h"
#include "output/console_output.h"
#include "output/elasticsearch/elasticsearch_output.h"
#include "output/file_output.h"
#include "watcher/own_directories.h"
#include "watcher/package/rpm_database.h"
#include "watcher/path_filter.h"
#include "watcher/realtime/realtime_watcher.h"
#include "watcher/roots.h"

namespace fim::app {
namespace {

constexpr std::chrono::milliseconds kStuckWait{800};  // after the grace period and a forced stop
constexpr const char* kDpkgDatabase = "/var/lib/dpkg";

// package_verification's index: when a module wants it (by default, where dpkg's or an RPM
// database exists), of the files under the roots of the modules that want it. Read in the background.
std::unique_ptr<watcher::PackageIndex> openPackageIndex(const config::Config& config,
                                                        const std::vector<watcher::Root>& roots,
                                                        core::Metrics& metrics) {
  const auto& modules = config.modules;
  const auto wants = [](const config::ModuleConfig& m) { return m.enabled && m.packageVerification.value_or(true); };
  if (std::none_of(modules.begin(), modules.end(), wants)) return nullptr;
  auto& log = core::logger("agent");
  const bool asked = std::any_of(modules.begin(), modules.end(), [](const auto& m) { return m.packageVerification == true; });
  watcher::PackageScope scope;
  for (const auto& root : roots) {
    if (wants(modules[root.module])) scope.add(root.path, root.recursive);
  }
  // dpkg where its database exists, else RPM where librpm's database exists (fimbeat.rpm_dbpath,
  // for tests, chooses RPM and its database).
  core::Result<std::unique_ptr<watcher::PackageIndex>> index = nullptr;
  std::string rpmDbPath = config.rpmDbPath;
  if (rpmDbPath.empty() && ::access((std::string(kDpkgDatabase) + "/status").c_str(), F_OK) == 0) {
    index = watcher::PackageIndex::openDpkg(metrics, std::move(scope), kDpkgDatabase);
  } else {
    if (rpmDbPath.empty()) {
      auto configured = watcher::rpm::defaultDbPath();
      if (configured && watcher::rpm::hasDatabase(*configured)) rpmDbPath = std::move(*configured);
    }
    if (rpmDbPath.empty()) {
      if (asked) {
        log.warn("package_verification is on, but this system has neither a dpkg database ({}/status) nor an RPM "
                 "database: events carry no package verdicts", kDpkgDatabase);
      }
      return nullptr;
    }
    index = watcher::PackageIndex::openRpm(metrics, std::move(scope), rpmDbPath);
  }
  if (!index) {
    log.warn("package_verification is off: {}", index.error().message());
    return nullptr;
  }
  return std::move(*index);
}

constexpr int kApprovalLockAttempts = 100;             // 5 s
constexpr std::chrono::milliseconds kApprovalLockPause{50};

// What the module's exclude_files / include_files let the watcher see under `root` now: a path
// is out of scope when it or a directory between it and the root is excluded.
std::function<bool(std::string_view, bool)> inScope(const config::ModuleConfig& module, const std::string& root) {
  auto filter = std::make_shared<watcher::PathFilter>(module);
  if (!filter->hasPatterns()) return {};
  return [filter, root](std::string_view path, bool isDirectory) {
    if (!filter->reported(path, isDirectory)) return false;
    for (std::size_t slash = path.rfind('/'); slash != std::string_view::npos && slash > root.size(); slash = path.rfind('/', slash - 1)) {
      if (filter->excluded(path.substr(0, slash))) return false;
    }
    return true;
  };
}

}  // namespace

// diff.enabled: the last content of each diffed file, kept beside the baseline (the largest
// diff.max_storage of the modules that diff). Copies no module diffs any more are dropped.
core::Status Agent::keepContents(const config::Config& config, const std::vector<watcher::Root>& roots, Agent& agent,
                                 core::Metrics& metrics) {
  std::uint64_t maxStorage = 0;
  std::vector<std::uint64_t> maxDiffSize;
  for (const auto& m : config.modules) {
    maxDiffSize.push_back(m.diff.maxDiffSize);
    if (m.enabled && m.diff.enabled) maxStorage = std::max(maxStorage, m.diff.maxStorage);
  }
  auto contents = std::make_unique<baseline::ContentStore>(*agent.store_, maxStorage, metrics);
  const auto diffed = [&](std::string_view path) {
    return std::any_of(roots.begin(), roots.end(), [&](const watcher::Root& root) {
      const auto& m = config.modules[root.module];
      return m.enabled && m.diff.enabled && core::isWithin(path, root.path);
    });
  };
  if (auto opened = contents->open(diffed); !opened) return opened;
  if (maxStorage == 0) return {};
  agent.contents_ = std::move(contents);
  agent.baseline_->keepContents(*agent.contents_, std::move(maxDiffSize));
  return {};
}

core::Result<std::unique_ptr<output::Output>> makeOutput(const config::Config& config, core::Metrics& metrics,
                                                        const core::Clock& clock) {
  switch (config.output.kind) {
    case config::OutputKind::File: {
      auto file = output::FileOutput::open(config.output.file, clock);
      if (!file) return std::unexpected(file.error());
      return std::unique_ptr<output::Output>(std::move(*file));
    }
    case config::OutputKind::Console:
      return std::unique_ptr<output::Output>(std::make_unique<output::ConsoleOutput>(config.output.console, stdout));
    case config::OutputKind::Elasticsearch:
      return std::unique_ptr<output::Output>(std::make_unique<output::es::ElasticsearchOutput>(
          config.output.elasticsearch, writeTarget(config), indexSetup(config), metrics, clock));
  }
  return core::fail(core::ErrorCode::Internal, "unknown output kind");
}

std::string Agent::databasePath(const config::Config& config) { return config.paths.data + "/fimbeat.db"; }

Agent::Agent(const config::Config& config, core::Metrics& metrics) : config_(config), metrics_(metrics) {}

core::Result<std::unique_ptr<Agent>> Agent::create(const config::Config& config, core::Metrics& metrics,
                                                   core::Health& health, const core::Clock& clock) {
  auto agent = std::unique_ptr<Agent>(new Agent(config, metrics));
  const std::string database = databasePath(config);
  auto store = baseline::openVerified(database, metrics, &health);
  if (!store) return std::unexpected(store.error());
  agent->store_ = std::move(*store);
  if (auto ready = baseline::prepareDatabase(*agent->store_, database); !ready) return std::unexpected(ready.error());

  agent->queue_ = std::make_unique<queue::DurableQueue>(*agent->store_, config.queue.maxSize, metrics, &health);
  agent->queue_->reserve({config.queue.minFreeBytes, config.queue.minFreePercent,
                          [database] { return queue::freeSpaceOf(database); }});
  // Events queued under another configuration keep the write target and data stream of theirs.
  if (auto opened = agent->queue_->open(deliverySettings(config)); !opened) return std::unexpected(opened.error());
  if (agent->queue_->events() > 0) {
    core::logger("agent").info("{} events ({} bytes) from the last run are still queued: delivering them first",
                               agent->queue_->events(), agent->queue_->bytes());
  }

  if (auto approvals = agent->openApprovals(clock); !approvals) return std::unexpected(approvals.error());

  const auto roots = watcher::resolveRoots(config.modules);
  std::vector<baseline::RootInfo> rootInfo;
  for (const auto& r : roots) rootInfo.push_back(baseline::RootInfo{r.path, r.module, inScope(config.modules[r.module], r.path)});
  agent->baseline_ =
      std::make_unique<baseline::Baseline>(*agent->store_, std::move(rootInfo), metrics, clock, agent->queue_.get(),
                                           &health);
  if (auto kept = keepContents(config, roots, *agent, metrics); !kept) return std::unexpected(kept.error());
  if (auto opened = agent->baseline_->open(); !opened) return std::unexpected(opened.error());
  agent->baseline_->setApprovals(agent->approvals_.get());

  watcher::ScanOptions scan;
  scan.workers = std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 4);
  scan.expectedPaths = agent->baseline_->recordCount();
  scan.baselineEmpty = agent->baseline_->empty();
  agent->processes_ = std::make_unique<watcher::process::ProcessTracker>(
      "/proc", watcher::process::ArgsLimits{}, watcher::process::ProcessTrackerOptions{}, &metrics, &health);
  agent->packages_ = openPackageIndex(config, roots, metrics);
  scan.packages = agent->packages_.get();
  agent->source_ = watcher::makeRealtimeSource(config.modules, roots, agent->baseline_.get(), clock, metrics, scan,
                                               watcher::ownDirectories(config), {}, &health, agent->processes_.get());
  // Changes made while the queue held the watcher back (full, or the disk full) are verified once
  // there is room.
  agent->queue_->onRoomAgain([source = agent->source_.get()] { source->requestRescan(); });

  auto metadata = enricher::collectMetadata(config, clock, FIMBEAT_VERSION);
  if (!metadata) return std::unexpected(metadata.error());
  AgentMetadataSources sources(metadata->host.id, metrics);
  auto processors = mapper::processors::ProcessorChain::build(config, metrics, &sources);
  if (!processors) return std::unexpected(processors.error());
  agent->processors_ = std::move(*processors);
  agent->enricher_ = std::make_unique<enricher::Enricher>(config, metrics, std::move(*metadata));
  auto output = makeOutput(config, metrics, clock);
  if (!output) return std::unexpected(output.error());
  agent->output_ = std::move(*output);
  const mapper::DocumentFilter* filter = agent->processors_->empty() ? nullptr : agent->processors_.get();
  agent->delivery_ = std::make_unique<pipeline::Delivery>(config, *agent->queue_, *agent->enricher_, filter,
                                                          *agent->output_, metrics, &health);
  return agent;
}

core::Status Agent::openApprovals(const core::Clock& clock) {
  auto& log = core::logger("agent");
  const std::string& data = config_.paths.data;
  // `fimbeat approve` holds the lock only while it rewrites the file when no agent runs.
  for (int attempt = 0; attempt < kApprovalLockAttempts && !approvalLock_; ++attempt) {
    auto lock = management::ApprovalLock::tryAcquire(data);
    if (!lock) return std::unexpected(lock.error());
    if (*lock) {
      approvalLock_.emplace(std::move(**lock));
    } else {
      std::this_thread::sleep_for(kApprovalLockPause);
    }
  }
  if (!approvalLock_) {
    return core::failf(core::ErrorCode::Unavailable, "another process holds {}/approvals.lock (a `fimbeat approve` that "
                       "hangs?): stop it", data);
  }
  approvals_ = management::ApprovalStore::open(management::approvalsFile(data), clock);
  if (!approvals_->problem().empty()) log.warn("{}", approvals_->problem());
  auto current = approvals_->list();
  if (current && !current->empty()) log.info("{} approved change window(s) are current", current->size());
  auto control = management::ControlServer::start(management::controlSocketPath(data), *approvals_);
  if (control) {
    control_ = std::move(*control);
  } else {  // the agent still watches; approvals then wait for a restart
    log.error("no control socket: {}; `fimbeat approve` is taken only when fimbeat is stopped", control.error().message());
  }
  return {};
}

Agent::~Agent() {
  if (!stopped_ && deliveryThread_.joinable() && !stuck_) stop(std::chrono::milliseconds(0));
  if (stuck_) {
    for (auto* t : {&watcherThread_, &baselineThread_, &deliveryThread_}) {
      if (t->joinable()) t->detach();
    }
  }
}

template <typename Body>
std::jthread Agent::spawn(const char* component, Body body) {
  {
    std::lock_guard lock(runningMutex_);
    ++running_;
  }
  return std::jthread([this, component, body](std::stop_token stop) {
    ::pthread_setname_np(::pthread_self(), (std::string("fim-") + component).substr(0, 15).c_str());
    try {
      body(stop);
    } catch (const std::exception& e) {
      core::logger(component).critical("stage stopped by an unexpected error: {}", e.what());
      failed_ = true;
    } catch (...) {
      core::logger(component).critical("stage stopped by an unexpected error");
      failed_ = true;
    }
    std::lock_guard lock(runningMutex_);
    --running_;
    runningChanged_.notify_all();
  });
}

void Agent::start() {
  enricher_->start();  // metadata refresh and cloud probe, beside the pipeline
  deliveryThread_ = spawn("delivery", [this](std::stop_token stop) { delivered_ = delivery_->run(stop); });
  baselineThread_ = spawn("baseline", [this](std::stop_token stop) { baseline_->run(stop, observations_); });
  watcherThread_ = spawn("watcher", [this](std::stop_token stop) {
    source_->run(stop, observations_);
    observations_.close();
  });
  metrics_.gauge(management::kModulesRunning)
      .set(std::count_if(config_.modules.begin(), config_.modules.end(), [](const auto& m) { return m.enabled; }));
  core::logger("agent").info("fimbeat started: {} module(s), {}", config_.modules.size(), output_->describe());
}

bool Agent::waitForStages(std::chrono::milliseconds timeout) {
  std::unique_lock lock(runningMutex_);
  return runningChanged_.wait_for(lock, timeout, [&] { return running_ == 0; });
}

bool Agent::stop(std::chrono::milliseconds grace) {
  stopped_ = true;
  metrics_.gauge(management::kModulesRunning).set(0);
  // The watcher first; the baseline and the delivery then drain what it handed over.
  watcherThread_.request_stop();
  observations_.close();
  if (!waitForStages(grace)) {
    core::logger("agent").warn("pipeline did not drain within {} ms; stopping every stage", grace.count());
    for (auto* t : {&baselineThread_, &deliveryThread_}) t->request_stop();
    if (!waitForStages(kStuckWait)) {
      core::logger("agent").error("a stage is stuck in a call that cannot be interrupted; giving up on it");
      stuck_ = true;
      return false;
    }
  }
  for (auto* t : {&watcherThread_, &baselineThread_, &deliveryThread_}) {
    if (t->joinable()) t->join();
  }
  if (control_) control_->stop();
  enricher_->stop();
  bool closed = true;
  if (auto done = output_->close(); !done) {
    core::logger("agent").error("closing the output failed: {}", done.error().message());
    closed = false;
  }
  if (auto done = store_->close(); !done) {
    core::logger("agent").error("closing the database failed: {}", done.error().message());
    closed = false;
  }
  return closed;
}

}  // namespace fim::app
