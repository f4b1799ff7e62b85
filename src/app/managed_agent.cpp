#include "app/managed_agent.h"

#include <thread>

#include "core/logging.h"
#include "management/fleet/policy_translator.h"

#ifndef FIMBEAT_VERSION
#define FIMBEAT_VERSION "0.0.0"
#endif

namespace fim::app {
namespace {

using namespace std::chrono_literals;
constexpr auto kSwapGrace = 3500ms;

}  // namespace

ManagedAgent::ManagedAgent(std::string localYaml, config::LoadOptions load, std::string agentId, core::Metrics& metrics,
                           core::Health& health, const core::Clock& clock,
                           std::function<void(const std::string&)> logLevel)
    : localYaml_(std::move(localYaml)),
      load_(std::move(load)),
      agentId_(std::move(agentId)),
      metrics_(metrics),
      health_(health),
      clock_(clock),
      logLevel_(std::move(logLevel)) {}

ManagedAgent::~ManagedAgent() { stop(kSwapGrace); }

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

core::Status ManagedAgent::apply(const std::string& policyJson) {
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
  auto next = std::make_unique<config::Config>(std::move(loaded->config));
  next->configFile = load_.configFile;

  std::lock_guard lock(mutex_);
  std::unique_ptr<config::Config> previous = std::move(config_);
  if (agent_) {
    agent_->stop(kSwapGrace);
    if (agent_->stuck()) stuck_ = true;
    agent_.reset();
  }
  auto started = start(std::move(next));
  if (started && agent_) {
    // Healthy before reported: a stage that died at once, or a watcher with nothing to watch, fails it.
    std::this_thread::sleep_for(200ms);
    if (agent_->failed() || health_.unit(core::Health::kWatcher).state == core::HealthState::Failed) {
      const std::string why = agent_->failed() ? "a stage stopped at start" : health_.unit(core::Health::kWatcher).message;
      agent_->stop(kSwapGrace);
      agent_.reset();
      started = core::fail(core::ErrorCode::Unavailable, why);
    }
  }
  if (!started) {
    const auto error = started.error();
    if (previous) {
      log.warn("the new policy's stages did not start ({}); starting the previous policy's again", error.message());
      if (auto back = start(std::move(previous)); !back) {
        log.error("the previous policy's stages did not start either: {}", back.error().message());
      }
    }
    return std::unexpected(error);
  }
  if (!translated->logLevel.empty()) logLevel_(translated->logLevel);
  return {};
}

void ManagedAgent::stopInputs() {
  std::lock_guard lock(mutex_);
  if (agent_) {
    agent_->stop(kSwapGrace);
    if (agent_->stuck()) stuck_ = true;
    agent_.reset();
  }
}

void ManagedAgent::setLogLevel(const std::string& level) { logLevel_(level); }

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
