#pragma once
// ElasticsearchOutput: ships documents with the bulk API as `create` actions into the data
// stream (or output.elasticsearch.index). Each write sends every event once; the items
// Elasticsearch answers 429 or 5xx come back in WriteOutcome::retry for the caller to resend.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

#include "config/output_config.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "output/elasticsearch/bulk_encoder.h"
#include "output/elasticsearch/es_connection.h"
#include "output/elasticsearch/index_setup.h"
#include "output/output.h"

namespace fim::output::es {

class ElasticsearchOutput final : public Output {
 public:
  // target: the data stream (or plain index) documents go to. setup: index management to run
  // once on the first connection, or nullopt.
  ElasticsearchOutput(config::ElasticsearchOutputConfig options, std::string target, std::optional<IndexSetup> setup,
                      core::Metrics& metrics, const core::Clock& clock);
  ~ElasticsearchOutput() override;

  // Splits events into bulk requests of bulk_max_size, sent over `worker` connections at once.
  // A whole request answered 429/5xx or not answered puts its events in `retry`; an error is
  // returned only when no event could be sent (the first failure's cause).
  [[nodiscard]] core::Result<WriteOutcome> write(std::span<const events::EncodedEvent> events, std::stop_token stop) override;
  [[nodiscard]] core::Status flush() override { return {}; }  // every write is complete when it returns
  [[nodiscard]] core::Status close() override { return {}; }
  std::string describe() const override;

 private:
  using Events = std::vector<std::size_t>;  // indices into the batch being written
  struct Worker {
    std::unique_ptr<Connection> connection;
    std::unique_ptr<BulkEncoder> encoder;
  };
  struct Batch {
    std::span<const events::EncodedEvent> events;
    const std::string& index;
    bool deadLetters;  // the dead letter documents of refused events
  };
  // Sends events of `batch` once, splitting on 413, so that each ends in a bucket of `out` or in
  // out.retry. An error when the request failed as a whole for a reason retrying cannot fix.
  [[nodiscard]] core::Status deliver(Worker& worker, const Batch& batch, const Events& events, WriteOutcome& out,
                                     std::stop_token stop);
  // One bulk request; false when the server answered 413 (too large).
  [[nodiscard]] core::Result<bool> sendItems(Worker& worker, const Batch& batch, const Events& events,
                                             WriteOutcome& out, std::stop_token stop);
  // Under non_indexable_policy: dropped, or re-sent as a dead letter document.
  [[nodiscard]] core::Status refuse(Worker& worker, const Batch& batch, const Events& events,
                                    const std::vector<std::string>& reasons, const std::vector<std::string>& types,
                                    WriteOutcome& out, std::stop_token stop);
  void logRefused(const std::string& message);

  config::ElasticsearchOutputConfig options_;
  std::string target_;
  std::string bulkPath_;  // /_bulk?..., with &pipeline= when one is configured
  std::unique_ptr<SetupOnce> setup_;
  std::vector<Worker> workers_;  // one connection and encoder per `worker`
  const core::Clock& clock_;
  core::Counter& toomany_;
  core::Counter& retried_;  // events handed back for another attempt (429/5xx or a failed request)
  core::Gauge& active_;
  std::mutex failureMutex_;
  std::optional<core::Error> firstFailure_;  // of the write in progress: a request not answered or refused whole
  std::mutex logMutex_;
  std::chrono::steady_clock::time_point lastRefusedLog_{};
  std::size_t suppressedRefused_ = 0;
};

// Splits [0, n) into consecutive chunks of at most size; the last may be smaller. Pure.
std::vector<std::pair<std::size_t, std::size_t>> chunkRanges(std::size_t n, std::size_t size);

}  // namespace fim::output::es
