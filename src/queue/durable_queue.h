#pragma once
// DurableQueue: the events between the baseline and the outputs, kept in the store's Queue
// family. The producer appends an event to the SAME core::WriteBatch that moves its baseline record,
// so a change is durable exactly when the baseline has moved: a crash can neither lose a change
// nor record one without its event. Keys are 8-byte big-endian sequence numbers (key order is
// FIFO order); delivered entries are removed with one range delete.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "events/file_event.h"
#include "core/health.h"
#include "core/kv_store.h"
#include "core/metrics.h"
#include "core/result.h"
#include "events/delivery_settings.h"
#include "queue/delivery_generations.h"
#include "queue/free_space.h"
#include "queue/producer.h"

namespace fim::queue {

std::string queueKey(std::uint64_t sequence);
std::uint64_t queueSequence(std::string_view key);  // 0 when the key is not a queue key

class DurableQueue final : public Producer {
 public:
  // `health` (may be null) hears when the queue is full: the queue unit is DEGRADED while it is.
  DurableQueue(core::KvStore& store, std::uint64_t maxBytes, core::Metrics& metrics, core::Health* health = nullptr);

  // Reads where the queue stands: what is stored and not yet acknowledged is delivered again.
  // `current`: the delivery settings of the configuration in force; the events appended from now
  // on carry its generation, and each event read carries the settings of the generation that
  // produced it (kept in the meta family until its last event is acknowledged). Without it the
  // queue keeps no generations and events are read without settings (the mapper and the output
  // then use their own configuration).
  [[nodiscard]] core::Status open(std::optional<events::DeliverySettings> current = std::nullopt);
  // Below this much free space the producer waits as when the queue is full (queue.min_free).
  void reserve(SpaceReserve reserve) { reserve_ = std::move(reserve); }

  // --- Producer (one thread) ---
  // Adds the event to `batch` and sets event.sequence. Readers see it once the batch is written.
  void append(core::WriteBatch& batch, events::FileEvent& event) override;
  // Adds the queue's own counters to `batch`; call once, after the last append, before writing it.
  void seal(core::WriteBatch& batch) override;
  // The sealed batch was written, or not: its entries never existed. A failed write pauses the
  // producer until the store takes writes again.
  void published(const core::Status& written) override;
  // Blocks while the queue holds max_size bytes or more, while path.data's file system has less
  // than the reserve free, or while the store refuses writes: logged, counted and DEGRADED in
  // health, and checked again every second. False when stop was requested first.
  bool waitForSpace(std::stop_token stop) override;
  // Called (on the producer's thread) when the producer resumes after waiting: what was changed
  // meanwhile is found by a rescan.
  void onRoomAgain(std::function<void()> callback) { onRoomAgain_ = std::move(callback); }
  // No more appends: a reader returns 0 from read() once it has read everything.
  void closeProducer() override;

  // --- Consumer (one thread) ---
  // Appends up to `max` entries that follow the last one read, waiting up to `wait` for the first.
  // Returns how many it appended; an entry that cannot be decoded is logged, counted and skipped.
  [[nodiscard]] core::Result<std::size_t> read(std::vector<events::FileEvent>& out, std::size_t max, std::stop_token stop,
                                         std::chrono::milliseconds wait);
  // The producer closed the queue and every entry has been read.
  bool drained() const;
  // Every entry up to and including `sequence` was delivered: remove them.
  [[nodiscard]] core::Status acknowledge(std::uint64_t sequence);

  std::uint64_t bytes() const;   // stored and not yet acknowledged
  std::uint64_t events() const;
  // The generations kept now (those a queued event may refer to, and the current one).
  Generations generations() const;

 private:
  void updateGauges();
  // open()'s part for the generations: forgets those fully acknowledged, starts one for `current`.
  // Called with mutex_ held.
  [[nodiscard]] core::Status openGenerations(const events::DeliverySettings& current);
  // Why the producer must wait now (empty: it need not), as {health condition, message}.
  // Probes the disk; called with mutex_ held.
  std::pair<std::string, std::string> blocked();
  // The store refused a write: once the disk has room again, asks it to resume.
  void retryStore(std::unique_lock<std::mutex>& lock);

  core::KvStore& store_;
  const std::uint64_t maxBytes_;
  SpaceReserve reserve_;
  std::string storeFailure_;  // the last write's error while the store refuses writes
  core::Health* health_;
  std::function<void()> onRoomAgain_;
  mutable std::mutex mutex_;
  std::condition_variable_any changed_;
  bool producerClosed_ = false;
  // Producer side: committed totals, plus what the batch being built adds.
  std::uint64_t next_ = 1;
  std::uint64_t appendedBytes_ = 0, appendedEvents_ = 0;
  std::uint64_t pendingBytes_ = 0, pendingEvents_ = 0, pendingNext_ = 1;
  std::uint64_t lastPublished_ = 0;  // highest sequence known written
  // Consumer side.
  std::uint64_t cursor_ = 1;  // next sequence to read
  std::uint64_t ackedBytes_ = 0, ackedEvents_ = 0, ackedSequence_ = 0;
  std::deque<std::pair<std::uint64_t, std::uint64_t>> unacked_;  // (sequence, bytes) read, not yet acknowledged
  // Configuration generations (empty when open() had no settings).
  Generations generations_;
  std::uint32_t generation_ = 0;  // the current one: appended events carry it
  core::Gauge& eventsGauge_;
  core::Gauge& bytesGauge_;
  core::Counter& backpressure_;
  core::Counter& diskFull_;
  core::Counter& corrupt_;
};

}  // namespace fim::queue
