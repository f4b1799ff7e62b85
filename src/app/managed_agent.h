#pragma once
// ManagedAgent: the stages of a fimbeat enrolled in Fleet, rebuilt from each policy. It is Fleet's
// PolicyTarget: a policy is translated and validated by the same loader as a local file, and its
// output must accept fimbeat's credentials, all while the running stages go on; only then are the
// stages swapped, and the policy counts as applied once the new watcher has placed its watches.
// If the new stages fail to start, the previous ones start again. The durable queue and the
// baseline live in the database and survive both; the start scan of the stages that take over
// finds what changed during the swap (docs/design/fleet.md explains why two watchers never run
// side by side).

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
  // `applyTimeout` (fleet.apply_timeout): how long new stages may take to start before the
  // policy is rejected and the previous stages are started again.
  ManagedAgent(std::string localYaml, config::LoadOptions load, std::string agentId,
               std::chrono::nanoseconds applyTimeout, core::Metrics& metrics, core::Health& health,
               const core::Clock& clock, std::function<void(const std::string&)> logLevel);
  ~ManagedAgent() override;

  // POLICY_CHANGE: the atomic apply above. An error is the rejection reason; the stages that ran
  // before run on.
  [[nodiscard]] core::Status apply(const std::string& policyJson) override;
  // At start, before the first checkin: the last-good policy, started as it is (its output may be
  // unreachable or refuse a revoked key: the events then wait in the queue, nothing is rejected).
  [[nodiscard]] core::Status resume(const std::string& policyJson);
  void stopInputs() override;
  void setLogLevel(const std::string& level) override;
  // INPUT_ACTION: on the running stages' approvals; Unavailable when no policy runs.
  [[nodiscard]] core::Result<std::vector<management::Approval>> approvals(
      const management::ControlRequest& request) override;

  bool failed();
  bool stop(std::chrono::milliseconds grace);  // true when every close succeeded
  bool stuck();

 private:
  struct Prepared {
    std::unique_ptr<config::Config> config;
    std::string outputName;
    std::string logLevel;
  };
  // Translated and validated; the warnings logged.
  [[nodiscard]] core::Result<Prepared> prepare(const std::string& policyJson);
  // The policy's output accepts fimbeat's credentials (hosts that do not answer refuse nothing).
  [[nodiscard]] core::Status verifyOutput(const Prepared& next);
  [[nodiscard]] core::Status start(std::unique_ptr<config::Config> config);
  // Waits, up to applyTimeout_, until the new watcher has placed its watches; an error when a
  // stage failed or time ran out.
  [[nodiscard]] core::Status startedInTime();
  void stopAgent();

  const std::string localYaml_;
  const config::LoadOptions load_;
  const std::string agentId_;
  const std::chrono::nanoseconds applyTimeout_;
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
