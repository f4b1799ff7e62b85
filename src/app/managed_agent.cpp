#include "app/managed_agent.h"

#include <thread>

#include "app/commands.h"
#include "core/logging.h"
#include "management/approval_command.h"
#include "management/fleet/policy_translator.h"
#include "output/elasticsearch/probe.h"
#include "watcher/realtime/realtime_watcher.h"

#ifndef FIMBEAT_VERSION
#define FIMBEAT_VERSION "0.0.0"
#endif

namespace fim::app {
namespace {

using namespace std::chrono_literals;
constexpr auto kSwapGrace = 3500ms;
constexpr auto kVerifyTimeout = 10s;     // per request of the output check
constexpr auto kStartedPoll = 50ms;      // how often the apply looks whether the new stages started

}  // namespace

ManagedAgent::ManagedAgent(std::string localYaml, config::LoadOptions load, std::string agentId,
                           std::chrono::nanoseconds applyTimeout, core::Metrics& metrics, core::Health& health,
                           const core::Clock& clock, std::function<void(const std::string&)> logLevel)
    : localYaml_(std::move(localYaml)),
      load_(std::move(load)),
      agentId_(std::move(agentId)),
      applyTimeout_(applyTimeout),
      metrics_(metrics),
      health_(health),
      clock_(clock),
      logLevel_(std::move(logLevel)) {}

ManagedAgent::~ManagedAgent() { stop(kSwapGrace); }

core::Result<ManagedAgent::Prepared> ManagedAgent::prepare(const std::string& policyJson) {
  auto& log = core::logger("fleet");
  auto translated = management::fleet::translatePolicy(policyJson, localYaml_, {agentId_, FIMBEAT_VERSION});
  if (!translated) return std::unexpected(translated.error());
  config::LoadOptions load = load_;
  load.overrides.clear();  // -E applies to the local file, not to Fleet's policy
  load.requireModules = false;
  auto loaded = config::loadText(translated->yaml,
                                 fmt::format("Fleet policy {} rev {}", translated->policyId, translated->revision), load);
  if (!loaded) return core::fail(core::ErrorCode::InvalidArgument, "invalid policy: " + loaded.error().message());
  for (const auto& w : translated->warnings) log.warn("{}", w);
  for (const auto& w : loaded->warnings) log.warn("{}", w.describe());
  for (const auto& input : translated->unsupportedInputs) log.warn("policy input {} is not supported by fimbeat", input);
  Prepared out;
  out.config = std::make_unique<config::Config>(std::move(loaded->config));
  out.config->configFile = load_.configFile;
  out.outputName = translated->outputName;
  out.logLevel = translated->logLevel;
  return out;
}

core::Status ManagedAgent::verifyOutput(const Prepared& next) {
  const config::Config& config = *next.config;
  if (config.modules.empty() || config.output.kind != config::OutputKind::Elasticsearch) return {};
  auto verified = output::es::verifyOutput(config.output.elasticsearch, writeTarget(config), kVerifyTimeout);
  if (!verified) {
    return core::fail(core::ErrorCode::PermissionDenied,
                      fmt::format("output \"{}\" refuses fimbeat: {}", next.outputName, verified.error().message()));
  }
  if (*verified == 0) {
    core::logger("fleet").warn("no host of output \"{}\" answers now: the policy is applied and its events wait in the "
                               "queue until one does",
                               next.outputName);
  }
  return {};
}

core::Status ManagedAgent::start(std::unique_ptr<config::Config> config) {
  if (config->modules.empty()) {  // no fim input: nothing watches; the queue waits on disk
    config_ = std::move(config);
    return {};
  }
  auto agent = Agent::create(*config, metrics_, health_, clock_);
  if (!agent) return std::unexpected(agent.error());
  (*agent)->start();
  config_ = std::move(config);
  agent_ = std::move(*agent);
  return {};
}

core::Status ManagedAgent::startedInTime() {
  const auto deadline = std::chrono::steady_clock::now() + applyTimeout_;
  const auto starting = [&] { return health_.has(core::Health::kWatcher, watcher::kStartingCondition); };
  while (starting() && !agent_->failed() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(kStartedPoll);
  }
  if (agent_->failed()) return core::fail(core::ErrorCode::Unavailable, "a stage stopped at start");
  if (const auto watcher = health_.unit(core::Health::kWatcher); watcher.state == core::HealthState::Failed) {
    return core::fail(core::ErrorCode::Unavailable, "the watcher failed: " + watcher.message);
  }
  if (starting()) {
    return core::fail(core::ErrorCode::Unavailable,
                      fmt::format("the watcher did not place its watches within {} s (fleet.apply_timeout)",
                                  std::chrono::duration_cast<std::chrono::seconds>(applyTimeout_).count()));
  }
  return {};
}

void ManagedAgent::stopAgent() {
  if (!agent_) return;
  agent_->stop(kSwapGrace);
  if (agent_->stuck()) {
    stuck_ = true;
    (void)agent_.release();  // a stuck thread cannot be joined
  } else {
    agent_.reset();
  }
}

core::Status ManagedAgent::apply(const std::string& policyJson) {
  auto& log = core::logger("fleet");
  auto next = prepare(policyJson);
  if (!next) return std::unexpected(next.error());
  // With the running stages untouched: a refused output rejects the policy here.
  if (auto verified = verifyOutput(*next); !verified) return verified;
  std::lock_guard lock(mutex_);
  std::unique_ptr<config::Config> previous = std::move(config_);
  stopAgent();
  auto started = start(std::move(next->config));
  if (started && agent_) started = startedInTime();
  if (!started) {
    const auto error = started.error();
    stopAgent();
    if (previous) {
      log.warn("the new policy's stages did not start ({}); starting the previous policy's again", error.message());
      if (auto back = start(std::move(previous)); !back) {
        log.error("the previous policy's stages did not start either: {}", back.error().message());
      }
    }
    return std::unexpected(error);
  }
  if (!next->logLevel.empty()) logLevel_(next->logLevel);
  return {};
}

core::Status ManagedAgent::resume(const std::string& policyJson) {
  auto next = prepare(policyJson);
  if (!next) return std::unexpected(next.error());
  std::lock_guard lock(mutex_);
  stopAgent();
  if (auto started = start(std::move(next->config)); !started) return started;
  if (!next->logLevel.empty()) logLevel_(next->logLevel);
  return {};
}

void ManagedAgent::stopInputs() {
  std::lock_guard lock(mutex_);
  stopAgent();
}

void ManagedAgent::setLogLevel(const std::string& level) { logLevel_(level); }

core::Result<std::vector<management::Approval>> ManagedAgent::approvals(const management::ControlRequest& request) {
  std::lock_guard lock(mutex_);
  if (!agent_) {
    return core::fail(core::ErrorCode::Unavailable,
                      "no policy runs here (unenrolled, or its stages did not start): nothing takes approvals");
  }
  return management::carryOut(agent_->approvals(), request);
}

bool ManagedAgent::failed() {
  std::unique_lock lock(mutex_, std::try_to_lock);
  return lock.owns_lock() && agent_ && agent_->failed();
}

bool ManagedAgent::stuck() {
  std::lock_guard lock(mutex_);
  return stuck_;
}

bool ManagedAgent::stop(std::chrono::milliseconds grace) {
  std::lock_guard lock(mutex_);
  if (!agent_) return true;
  const bool clean = agent_->stop(grace);
  if (agent_->stuck()) {
    stuck_ = true;
    (void)agent_.release();  // a stuck thread cannot be joined
  } else {
    agent_.reset();
  }
  return clean;
}

}  // namespace fim::app
