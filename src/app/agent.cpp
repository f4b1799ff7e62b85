#include "app/agent.h"

#include <algorithm>
#include <future>
#include <pthread.h>

#include <cstdio>

#include "core/logging.h"
#include "app/commands.h"
#include "output/console_output.h"
#include "output/elasticsearch/elasticsearch_output.h"
#include "output/file_output.h"
#include "watcher/realtime/realtime_watcher.h"

namespace fim::app {
namespace {
constexpr std::chrono::milliseconds kStuckWait{800};  // after the grace period and a forced stop
constexpr std::size_t kFileBatch = 256;               // events per write of the file and console outputs

// The outputs' one retry policy: output.elasticsearch.backoff.*, or Beats' defaults (1 s, 60 s).
output::RetryPolicy retryPolicy(const config::Config& config) {
  output::RetryPolicy policy;
  if (config.output.kind == config::OutputKind::Elasticsearch) {
    policy.init = std::chrono::duration_cast<std::chrono::milliseconds>(config.output.elasticsearch.backoffInit);
    policy.max = std::chrono::duration_cast<std::chrono::milliseconds>(config.output.elasticsearch.backoffMax);
  }
  return policy;
}

// Events the output takes per write: for Elasticsearch one full bulk request per worker
// connection (bulk_max_size each), so that write() keeps every connection busy.
std::size_t outputBatchSize(const config::Config& config) {
  if (config.output.kind != config::OutputKind::Elasticsearch) return kFileBatch;
  const auto& es = config.output.elasticsearch;
  return static_cast<std::size_t>(es.bulkMaxSize) * static_cast<std::size_t>(std::max(es.worker, 1));
}
}  // namespace

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

core::Result<std::unique_ptr<Agent>> Agent::create(const config::Config& config, core::Metrics& metrics,
                                                   const core::Clock& clock) {
  // Opening the store (about 6 ms: RocksDB writes and checks a new MANIFEST and OPTIONS file at
  // every open) overlaps with setting up the other stages.
  auto opening = std::async(std::launch::async,
                            [path = config.paths.data + "/fimbeat.db"] { return baseline::RocksDbStore::open(path); });
  auto processors = enricher::processors::ProcessorChain::build(config, metrics);
  if (!processors) return std::unexpected(processors.error());
  auto output = makeOutput(config, metrics, clock);
  if (!output) return std::unexpected(output.error());
  auto metadata = enricher::collectMetadata(config, clock, FIMBEAT_VERSION);
  if (!metadata) return std::unexpected(metadata.error());
  auto store = opening.get();
  if (!store) return std::unexpected(store.error());
  const auto roots = watcher::resolveRoots(config.modules);
  std::vector<baseline::RootInfo> rootInfo;
  for (const auto& r : roots) rootInfo.push_back(baseline::RootInfo{r.path, r.module});
  auto queue = std::make_unique<core::DurableQueue>(**store, config.queue.maxSize, metrics);
  if (auto opened = queue->open(); !opened) return std::unexpected(opened.error());
  if (queue->events() > 0) {
    core::logger("agent").info("{} events ({} bytes) from the last run are still queued: delivering them first",
                               queue->events(), queue->bytes());
  }
  auto base = std::make_unique<baseline::Baseline>(**store, std::move(rootInfo), metrics, clock, queue.get());
  if (auto opened = base->open(); !opened) return std::unexpected(opened.error());
  watcher::ScanOptions scan;
  scan.workers = std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 4);
  scan.expectedPaths = base->recordCount();
  scan.baselineEmpty = base->empty();
  auto agent = std::unique_ptr<Agent>(new Agent(config, metrics, std::move(*output), std::move(*store),
                                                std::move(queue), std::move(base), std::move(*metadata),
                                                std::move(*processors)));
  agent->source_ = watcher::makeRealtimeSource(config.modules, roots, agent->baseline_.get(), clock, metrics, scan,
                                               watcher::ownDirectories(config));
  // Changes made while the full queue held the watcher back are verified once there is room.
  agent->queue_->onRoomAgain([source = agent->source_.get()] { source->requestRescan(); });
  return agent;
}

Agent::Agent(const config::Config& config, core::Metrics& metrics, std::unique_ptr<output::Output> output,
             std::unique_ptr<core::KvStore> store, std::unique_ptr<core::DurableQueue> queue,
             std::unique_ptr<baseline::Baseline> baseline, core::Metadata metadata,
             std::unique_ptr<enricher::processors::ProcessorChain> processors)
    : config_(config),
      metrics_(metrics),
      output_(std::move(output)),
      store_(std::move(store)),
      queue_(std::move(queue)),
      baseline_(std::move(baseline)),
      reader_(*queue_, metrics, outputBatchSize(config)),
      processors_(std::move(processors)),
      enricher_(config, metrics, std::move(metadata)),
      worker_(*output_, metrics, retryPolicy(config), [this](std::uint64_t sequence) {
        if (auto acked = queue_->acknowledge(sequence); !acked) {
          core::logger("queue").error("removing delivered events from the queue failed: {}", acked.error().message());
        }
      }) {
  mapper::DocumentBuilder::declareMetrics(metrics_);  // the builder itself comes with the first event
}

Agent::~Agent() {
  if (deliveryThread_.joinable() && !stuck_) stop(std::chrono::milliseconds(0));
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
  enricher_.start();  // metadata refresh and cloud probe, beside the pipeline
  // One thread takes each batch from the durable queue to the output: a hand-over between
  // threads costs a wake-up, which is most of a live event's latency.
  deliveryThread_ = spawn("delivery", [this](std::stop_token stop) {
    std::vector<core::EnrichedEvent> enriched;
    std::vector<core::EncodedEvent> documents;
    bool stopped = false;
    reader_.run(
        stop,
        [&](std::vector<core::FileEvent>& batch) {
          const std::uint64_t last = batch.back().sequence;
          enricher_.enrichBatch(batch, enriched);
          // Built for the first event: a start that finds nothing changed never parses the schema,
          // and leaves the cores to the scan.
          if (!builder_) builder_.emplace(config_, metrics_, processors_->empty() ? nullptr : processors_.get());
          builder_->mapBatch(enriched, documents);
          const bool delivered = worker_.deliver(stop, documents, last);
          stopped = !delivered;
          documents.clear();
          return delivered;
        },
        [&] { worker_.idle(); });
    // Stopped in the middle: everything still queued waits for the next start.
    worker_.finish(stopped ? queue_->events() : 0);
    deliveryDone_.set_value();
  });
  baselineThread_ = spawn("baseline", [this](std::stop_token stop) { baseline_->run(stop, observations_); });
  watcherThread_ = spawn("watcher", [this](std::stop_token stop) {
    source_->run(stop, observations_);
    observations_.close();
  });
  core::logger("agent").info("fimbeat started: {} module(s), {}", config_.modules.size(), output_->describe());
}

bool Agent::stop(std::chrono::milliseconds grace) {
  watcherThread_.request_stop();
  observations_.close();
  const bool drained = deliveryDoneFuture_.wait_for(grace) == std::future_status::ready;
  if (!drained) {
    core::logger("agent").warn("pipeline did not drain within {} ms; stopping every stage", grace.count());
    for (auto* t : {&baselineThread_, &deliveryThread_}) t->request_stop();
  }
  {
    std::unique_lock lock(runningMutex_);
    if (!runningChanged_.wait_for(lock, kStuckWait, [&] { return running_ == 0; })) {
      core::logger("agent").error("a stage is stuck in a call that cannot be interrupted; giving up on it");
      stuck_ = true;
      return false;
    }
  }
  for (auto* t : {&watcherThread_, &baselineThread_, &deliveryThread_}) {
    if (t->joinable()) t->join();
  }
  enricher_.stop();
  if (auto closed = store_->close(); !closed) {
    core::logger("agent").error("closing the database failed: {}", closed.error().message());
  }
  return drained && metrics_.counter("output.events.failed").value() == 0;
}

}  // namespace fim::app
