#pragma once
// Agent: creates the stages and wires them with bounded queues; it knows every stage, nothing else does.

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "baseline/baseline.h"
#include "baseline/rocksdb_store.h"
#include "config/config.h"
#include "core/bounded_queue.h"
#include "core/clock.h"
#include "core/durable_queue.h"
#include "core/event.h"
#include "core/metrics.h"
#include "enricher/enricher.h"
#include "enricher/processors/processor_chain.h"
#include "mapper/document_builder.h"
#include "output/output.h"
#include "output/output_worker.h"
#include "output/queue_reader.h"
#include "watcher/observation_source.h"

namespace fim::app {

class Agent {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<Agent>> create(const config::Config& config, core::Metrics& metrics,
                                                                   const core::Clock& clock);
  ~Agent();

  void start();
  // Stops the watcher, lets the rest of the pipeline drain and flush, and forces every stage
  // to stop if that takes longer than `grace`. True when everything queued was written.
  bool stop(std::chrono::milliseconds grace);
  // A stage died of an unexpected exception; the caller should stop the agent.
  bool failed() const { return failed_.load(); }
  // After stop(): a stage is stuck in a call that cannot be interrupted (a write to a stdout
  // nobody reads); the process must exit without waiting for it.
  bool stuck() const { return stuck_; }
  std::string outputDescription() const { return output_->describe(); }

 private:
  Agent(const config::Config& config, core::Metrics& metrics, std::unique_ptr<output::Output> output,
        std::unique_ptr<core::KvStore> store, std::unique_ptr<core::DurableQueue> queue,
        std::unique_ptr<baseline::Baseline> baseline, core::Metadata metadata,
        std::unique_ptr<enricher::processors::ProcessorChain> processors);

  template <typename Body>
  std::jthread spawn(const char* component, Body body);

  static constexpr std::size_t kQueueCapacity = 1024;  // observations waiting for the baseline

  const config::Config& config_;
  core::Metrics& metrics_;
  std::unique_ptr<output::Output> output_;
  std::unique_ptr<core::KvStore> store_;
  std::unique_ptr<core::DurableQueue> queue_;
  std::unique_ptr<baseline::Baseline> baseline_;
  std::unique_ptr<watcher::ObservationSource> source_;
  output::QueueReader reader_;
  std::unique_ptr<enricher::processors::ProcessorChain> processors_;  // declared before the mapper that runs it
  enricher::Enricher enricher_;
  // Built on the delivery thread for the first event: parsing the schema does not delay the scan.
  std::optional<mapper::DocumentBuilder> builder_;
  output::OutputWorker worker_;

  core::BoundedQueue<core::Observation> observations_{kQueueCapacity};

  std::promise<void> deliveryDone_;
  std::future<void> deliveryDoneFuture_ = deliveryDone_.get_future();
  std::atomic<bool> failed_{false};
  bool stuck_ = false;
  std::mutex runningMutex_;
  std::condition_variable runningChanged_;
  int running_ = 0;  // stage threads that have not returned yet
  std::jthread watcherThread_, baselineThread_, deliveryThread_;
};

[[nodiscard]] core::Result<std::unique_ptr<output::Output>> makeOutput(const config::Config& config,
                                                                      const core::Clock& clock);

}  // namespace fim::app
