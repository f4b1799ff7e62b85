#pragma once
// ManagedAgent: the stages of a fimbeat enrolled in Fleet, rebuilt from each policy. It is Fleet's
// PolicyTarget: a policy is translated and validated by the same loader as a local file; only a
// valid one replaces the running stages, and if the new stages cannot start the previous ones are
// started again (the durable queue and the baseline live in the database and survive both).

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "app/agent.h"
#include "config/loader.h"
#include "management/fleet/fleet_client.h"

namespace fim::app {

class ManagedAgent : public management::fleet::PolicyTarget {
 public:
  ManagedAgent(std::string localYaml, config::LoadOptions load, std::string agentId, core::Metrics& metrics,
               core::Health& health, const core::Clock& clock, std::function<void(const std::string&)> logLevel);
  ~ManagedAgent() override;

  [[nodiscard]] core::Status apply(const std::string& policyJson) override;
  void stopInputs() override;
  void setLogLevel(const std::string& level) override;

  bool failed();
  bool stop(std::chrono::milliseconds grace);  // true when every close succeeded
  bool stuck();

 private:
  [[nodiscard]] core::Status start(std::unique_ptr<config::Config> config);

  const std::string localYaml_;
  const config::LoadOptions load_;
  const std::string agentId_;
  core::Metrics& metrics_;
  core::Health& health_;
  const core::Clock& clock_;
  std::function<void(const std::string&)> logLevel_;
  std::mutex mutex_;
  std::unique_ptr<config::Config> config_;  // outlives agent_, which refers to it
  std::unique_ptr<Agent> agent_;
  bool stuck_ = false;
};

}  // namespace fim::app
