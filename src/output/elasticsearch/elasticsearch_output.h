#pragma once
// ElasticsearchOutput: ships documents with the bulk API as `create` actions into the data
// stream (or output.elasticsearch.index), retrying only what Elasticsearch asks to retry.

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
  [[nodiscard]] core::Result<WriteOutcome> write(std::span<const core::EncodedEvent> events, std::stop_token stop) override;
  [[nodiscard]] core::Status flush() override { return {}; }  // every write is complete when it returns
  std::string describe() const override;

 private:
  using Events = std::vector<const core::EncodedEvent*>;
  struct Worker {
    std::unique_ptr<Connection> connection;
    std::unique_ptr<BulkEncoder> encoder;
  };
  // Delivers events into index until each is in a bucket of out; an error when stopped, refused
  // as a whole or out of retries.
  [[nodiscard]] core::Status deliver(Worker& worker, Events events, const std::string& index, bool deadLetters,
                                     WriteOutcome& out, std::stop_token stop);
  // One bulk request; false when the server answered 413 (too large). Items to retry go to retry.
  [[nodiscard]] core::Result<bool> sendItems(Worker& worker, const Events& events, const std::string& index,
                                       bool deadLetters, WriteOutcome& out, Events& retry, std::stop_token stop);
  // Under non_indexable_policy: dropped, or re-sent as a dead letter document.
  [[nodiscard]] core::Status refuse(Worker& worker, const Events& events, const std::vector<std::string>& reasons,
                                    const std::vector<std::string>& types, bool deadLetters, WriteOutcome& out,
                                    std::stop_token stop);
  void logRefused(const std::string& message);

  config::ElasticsearchOutputConfig options_;
  std::string target_;
  std::unique_ptr<SetupOnce> setup_;
  std::vector<Worker> workers_;  // one connection and encoder per `worker`
  const core::Clock& clock_;
  core::Counter& toomany_;
  core::Counter& retried_;  // events sent again after a 429/5xx or a failed request (output.events.failed counts lost events)
  core::Gauge& active_;
  std::mutex logMutex_;
  std::chrono::steady_clock::time_point lastRefusedLog_{};
  std::size_t suppressedRefused_ = 0;
};

// Splits [0, n) into consecutive chunks of at most size; the last may be smaller. Pure.
std::vector<std::pair<std::size_t, std::size_t>> chunkRanges(std::size_t n, std::size_t size);

}  // namespace fim::output::es
