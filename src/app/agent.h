#pragma once
// Agent: constructs the stages, connects them with bounded queues, starts them on their threads
// and stops them in order. It knows every stage; no stage knows another but through the
// interface headers listed in docs/design/pipeline.md.
//
//   watcher ──observations──▶ baseline ──(same write)──▶ durable queue ──▶ delivery ──▶ output

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "baseline/baseline.h"
#include "baseline/content_store.h"
#include "config/config.h"
#include "core/bounded_queue.h"
#include "core/clock.h"
#include "core/health.h"
#include "core/kv_store.h"
#include "core/metrics.h"
#include "enricher/enricher.h"
#include "management/approval_store.h"
#include "management/control_server.h"
#include "events/observation.h"
#include "mapper/processors/processor_chain.h"
#include "output/output.h"
#include "pipeline/delivery.h"
#include "queue/durable_queue.h"
#include "watcher/observation_source.h"
#include "watcher/package/package_index.h"
#include "watcher/process/process_tracker.h"
#include "watcher/roots.h"

namespace fim::app {

class Agent {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<Agent>> create(const config::Config& config, core::Metrics& metrics,
                                                                   core::Health& health, const core::Clock& clock);
  ~Agent();

  void start();
  // Stops the watcher, lets the baseline and the delivery drain and flush, forces every stage to
  // stop if that takes longer than `grace`, then closes the output and the database. True when
  // every close succeeded: events not delivered yet are durable and go out at the next start.
  bool stop(std::chrono::milliseconds grace);
  // Who this agent is (agent.*, host.*), as its events carry it; for the monitoring endpoint.
  std::shared_ptr<const events::Metadata> metadata() const { return enricher_->metadata(); }
  // The approved change windows it holds (the control socket's, and Fleet's INPUT_ACTION's).
  management::ApprovalStore& approvals() { return *approvals_; }
  // After stop(): the delivery drained the queue (nothing waits for the next start).
  bool drained() const { return delivered_.load(); }
  // The baseline met a damaged database (baseline::Baseline::damaged()): the caller stops the
  // agent, rebuilds the database (baseline/rebuild.h) and creates the agent again.
  bool rebuildNeeded() const { return baseline_ && baseline_->damaged(); }
  std::string damage() const { return baseline_ ? baseline_->damage() : std::string(); }
  static std::string databasePath(const config::Config& config);
  // A stage died of an unexpected exception; the caller should stop the agent.
  bool failed() const { return failed_.load(); }
  // After stop(): a stage is stuck in a call that cannot be interrupted (a write to a stdout
  // nobody reads); the process must exit without waiting for it.
  bool stuck() const { return stuck_; }

 private:
  Agent(const config::Config& config, core::Metrics& metrics);
  [[nodiscard]] static core::Status keepContents(const config::Config& config, const std::vector<watcher::Root>& roots,
                                                 Agent& agent, core::Metrics& metrics);

  // Takes the approvals' lock, reads them and opens the control socket (<path.data>/fimbeat.sock).
  [[nodiscard]] core::Status openApprovals(const core::Clock& clock);
  template <typename Body>
  std::jthread spawn(const char* component, Body body);
  // Waits up to `timeout` for every stage thread to return; false when one did not.
  bool waitForStages(std::chrono::milliseconds timeout);

  static constexpr std::size_t kObservationCapacity = 1024;  // observations waiting for the baseline

  const config::Config& config_;
  core::Metrics& metrics_;
  // Approved change windows: held (lock, store, control socket) for the agent's whole life, so
  // they outlive the baseline that asks them.
  std::optional<management::ApprovalLock> approvalLock_;
  std::unique_ptr<management::ApprovalStore> approvals_;
  std::unique_ptr<management::ControlServer> control_;
  // In the order they are built; each may use those before it.
  std::unique_ptr<core::KvStore> store_;
  std::unique_ptr<queue::DurableQueue> queue_;
  std::unique_ptr<baseline::ContentStore> contents_;  // diff.enabled; null when no module diffs
  std::unique_ptr<baseline::Baseline> baseline_;
  std::unique_ptr<watcher::PackageIndex> packages_;  // package_verification; null when off
  std::unique_ptr<watcher::process::ProcessTracker> processes_;  // who-data; the fanotify backend starts it
  std::unique_ptr<watcher::ObservationSource> source_;
  std::unique_ptr<mapper::processors::ProcessorChain> processors_;
  std::unique_ptr<enricher::Enricher> enricher_;
  std::unique_ptr<output::Output> output_;
  std::unique_ptr<pipeline::Delivery> delivery_;
  core::BoundedQueue<events::Observation> observations_{kObservationCapacity};

  std::atomic<bool> failed_{false};
  std::atomic<bool> delivered_{false};  // the delivery drained the queue
  bool stuck_ = false;
  bool stopped_ = false;
  std::mutex runningMutex_;
  std::condition_variable runningChanged_;
  int running_ = 0;  // stage threads that have not returned yet
  std::jthread watcherThread_, baselineThread_, deliveryThread_;
};

// The output `config` names, ready to write.
[[nodiscard]] core::Result<std::unique_ptr<output::Output>> makeOutput(const config::Config& config,
                                                                      core::Metrics& metrics, const core::Clock& clock);

}  // namespace fim::app
