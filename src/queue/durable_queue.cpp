#include "queue/durable_queue.h"

#include "queue/event_codec.h"
#include "core/logging.h"

namespace fim::queue {

using core::ErrorCode;
using core::Family;
using core::KvStore;
using core::Result;
using core::Status;
using core::WriteBatch;
using core::failf;
using core::logger;
using events::FileEvent;

namespace {

constexpr const char* kNextKey = "queue.next_sequence";
constexpr const char* kAppendedBytesKey = "queue.appended_bytes";
constexpr const char* kAppendedEventsKey = "queue.appended_events";
constexpr const char* kAckedBytesKey = "queue.acked_bytes";
constexpr const char* kAckedEventsKey = "queue.acked_events";
constexpr const char* kAckedSequenceKey = "queue.acked_sequence";
constexpr std::uint64_t kRangeDeleteFrom = 64;  // entries per acknowledgement

Result<std::uint64_t> readNumber(KvStore& store, const char* key) {
  auto value = store.get(Family::Meta, key);
  if (!value) return std::unexpected(value.error());
  if (!*value) return std::uint64_t{0};
  try {
    return std::stoull(**value);
  } catch (const std::exception&) {
    return failf(ErrorCode::Parse, "the queue's counter {} holds \"{}\", not a number", key, **value);
  }
}

}  // namespace

std::string queueKey(std::uint64_t sequence) {
  std::string key(8, '\0');
  for (int i = 7; i >= 0; --i) {
    key[static_cast<std::size_t>(i)] = static_cast<char>(sequence & 0xff);
    sequence >>= 8;
  }
  return key;
}

std::uint64_t queueSequence(std::string_view key) {
  if (key.size() != 8) return 0;
  std::uint64_t sequence = 0;
  for (char c : key) sequence = (sequence << 8) | static_cast<std::uint8_t>(c);
  return sequence;
}

DurableQueue::DurableQueue(KvStore& store, std::uint64_t maxBytes, core::Metrics& metrics, core::Health* health)
    : store_(store),
      maxBytes_(maxBytes),
      health_(health),
      eventsGauge_(metrics.gauge("queue.events")),
      bytesGauge_(metrics.gauge("queue.bytes")),
      backpressure_(metrics.counter("queue.backpressure")),
      diskFull_(metrics.counter("queue.disk_full")),
      corrupt_(metrics.counter("queue.corrupt")) {}

Status DurableQueue::open(std::optional<events::DeliverySettings> current) {
  std::uint64_t values[6];
  const char* keys[6] = {kNextKey, kAppendedBytesKey, kAppendedEventsKey, kAckedBytesKey, kAckedEventsKey,
                         kAckedSequenceKey};
  for (int i = 0; i < 6; ++i) {
    auto v = readNumber(store_, keys[i]);
    if (!v) return std::unexpected(v.error());
    values[i] = *v;
  }
  auto last = store_.lastKey(Family::Queue);
  if (!last) return std::unexpected(last.error());
  std::lock_guard lock(mutex_);
  const std::uint64_t lastStored = *last ? queueSequence(**last) : 0;
  next_ = std::max({values[0], lastStored + 1, std::uint64_t{1}});
  pendingNext_ = next_;
  appendedBytes_ = values[1];
  appendedEvents_ = values[2];
  ackedBytes_ = values[3];
  ackedEvents_ = values[4];
  ackedSequence_ = values[5];
  lastPublished_ = next_ - 1;
  cursor_ = ackedSequence_ + 1;
  updateGauges();
  if (!current) return {};
  return openGenerations(*current);  // with mutex_ held, as the counters above
}

Status DurableQueue::openGenerations(const events::DeliverySettings& current) {
  auto stored = store_.get(Family::Meta, kGenerationsKey);
  if (!stored) return std::unexpected(stored.error());
  Generations known;
  if (*stored) {
    auto decoded = decodeGenerations(**stored);
    if (!decoded) {
      // The queued events are still delivered, with the settings in force now.
      corrupt_.add();
      logger("queue").error("{}: queued events are delivered with the current output settings", decoded.error().message());
    } else {
      known = std::move(*decoded);
    }
  }
  Generations updated = withCurrent(stillNeeded(known, ackedSequence_), current, next_);
  if (encodeGenerations(updated) != (*stored ? **stored : std::string())) {
    WriteBatch batch;
    batch.put(Family::Meta, kGenerationsKey, encodeGenerations(updated));
    if (auto written = store_.write(batch); !written) return written;
  }
  generations_ = std::move(updated);
  generation_ = generations_.rbegin()->first;
  return {};
}

void DurableQueue::append(WriteBatch& batch, FileEvent& event) {
  std::uint64_t sequence;
  {
    std::lock_guard lock(mutex_);
    sequence = pendingNext_++;
  }
  event.sequence = sequence;
  event.generation = generation_;  // set by open(), before the producer runs
  std::string value = encodeEvent(event);
  std::lock_guard lock(mutex_);
  pendingBytes_ += value.size() + 8;
  ++pendingEvents_;
  batch.put(Family::Queue, queueKey(sequence), std::move(value));
}

void DurableQueue::seal(WriteBatch& batch) {
  std::lock_guard lock(mutex_);
  if (pendingEvents_ == 0) return;
  batch.put(Family::Meta, kNextKey, std::to_string(pendingNext_));
  batch.put(Family::Meta, kAppendedBytesKey, std::to_string(appendedBytes_ + pendingBytes_));
  batch.put(Family::Meta, kAppendedEventsKey, std::to_string(appendedEvents_ + pendingEvents_));
}

void DurableQueue::published(const Status& written) {
  {
    std::lock_guard lock(mutex_);
    if (written) {
      appendedBytes_ += pendingBytes_;
      appendedEvents_ += pendingEvents_;
      next_ = pendingNext_;
      lastPublished_ = next_ - 1;
    } else {
      pendingNext_ = next_;  // the entries were never stored: their sequences are free again
      storeFailure_ = written.error().message();
    }
    pendingBytes_ = pendingEvents_ = 0;
    updateGauges();
  }
  changed_.notify_all();
}

std::pair<std::string, std::string> DurableQueue::blocked() {
  if (appendedBytes_ - ackedBytes_ >= maxBytes_) {
    return {"max_size", fmt::format("the queue holds {} bytes, queue.max_size is {}: pausing until the output "
                                    "catches up",
                                    appendedBytes_ - ackedBytes_, maxBytes_)};
  }
  if (reserve_.probe) {
    auto space = reserve_.probe();
    if (!space) return {"min_free", space.error().message() + ": pausing"};
    const std::uint64_t need = reserve_.required(space->total);
    if (space->available < need) {
      return {"min_free", fmt::format("path.data has {} bytes free, queue.min_free keeps {}: pausing until there "
                                      "is room (what changes meanwhile is found by a rescan)",
                                      space->available, need)};
    }
  }
  if (!storeFailure_.empty()) {
    return {"write_failed", "the database refuses writes (" + storeFailure_ +
                                "): pausing until it takes them again (what changes meanwhile is found by a rescan)"};
  }
  return {};
}

void DurableQueue::retryStore(std::unique_lock<std::mutex>& lock) {
  if (storeFailure_.empty()) return;
  if (reserve_.probe) {
    auto space = reserve_.probe();
    if (!space || space->available < reserve_.required(space->total)) return;
  }
  lock.unlock();
  auto resumed = store_.resume();
  lock.lock();
  if (resumed) storeFailure_.clear();  // else it is still recovering: the first failure stays the reason
}

bool DurableQueue::waitForSpace(std::stop_token stop) {
  std::unique_lock lock(mutex_);
  retryStore(lock);
  auto [condition, why] = blocked();
  if (condition.empty()) return true;
  if (health_) health_->set(core::Health::kQueue, condition, core::HealthState::Degraded, why);
  logger("queue").warn("{}", why);
  (condition == "max_size" ? backpressure_ : diskFull_).add();
  while (!condition.empty()) {
    // Acknowledgements wake a full queue at once; the disk is looked at again every second.
    changed_.wait_for(lock, stop, std::chrono::seconds(1),
                      [&] { return condition == "max_size" && appendedBytes_ - ackedBytes_ < maxBytes_; });
    if (stop.stop_requested()) break;
    retryStore(lock);
    auto [now, nowWhy] = blocked();
    if (now != condition) {
      if (health_) health_->clear(core::Health::kQueue, condition);
      if (!now.empty()) {
        logger("queue").warn("{}", nowWhy);
        if (health_) health_->set(core::Health::kQueue, now, core::HealthState::Degraded, nowWhy);
      }
      condition = now;
    }
  }
  if (health_ && !condition.empty()) health_->clear(core::Health::kQueue, condition);
  if (stop.stop_requested()) return false;
  logger("queue").info("room again (the queue holds {} bytes): resuming", appendedBytes_ - ackedBytes_);
  lock.unlock();
  if (onRoomAgain_) onRoomAgain_();
  return true;
}

void DurableQueue::closeProducer() {
  {
    std::lock_guard lock(mutex_);
    producerClosed_ = true;
  }
  changed_.notify_all();
}

Result<std::size_t> DurableQueue::read(std::vector<FileEvent>& out, std::size_t max, std::stop_token stop,
                                       std::chrono::milliseconds wait) {
  std::uint64_t from, upTo;
  {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, stop, wait, [&] { return cursor_ <= lastPublished_ || producerClosed_; });
    if (cursor_ > lastPublished_) return std::size_t{0};
    from = cursor_;
    upTo = lastPublished_;
  }
  std::size_t added = 0;
  std::uint64_t nextCursor = from;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> sizes;
  const Generations generations = this->generations();
  const auto settingsOf = [&](std::uint32_t generation) -> std::shared_ptr<const events::DeliverySettings> {
    if (generations.empty()) return nullptr;
    auto it = generations.find(generation);
    // Unknown only when the stored generations were damaged (logged at open): the current settings.
    return it != generations.end() ? it->second.settings : generations.rbegin()->second.settings;
  };
  auto scanned = store_.scanFrom(Family::Queue, queueKey(from), [&](std::string_view key, std::string_view value) {
    const std::uint64_t sequence = queueSequence(key);
    if (sequence == 0 || sequence > upTo) return false;
    nextCursor = sequence + 1;
    sizes.emplace_back(sequence, value.size() + 8);
    auto event = decodeEvent(sequence, value);
    if (!event) {
      corrupt_.add();
      logger("queue").error("skipping queue entry {}: {}", sequence, event.error().message());
    } else {
      event->delivery = settingsOf(event->generation);
      out.push_back(std::move(*event));
      ++added;
    }
    return added < max;
  });
  if (!scanned) return std::unexpected(scanned.error());
  std::lock_guard lock(mutex_);
  cursor_ = std::max(cursor_, nextCursor);
  unacked_.insert(unacked_.end(), sizes.begin(), sizes.end());
  return added;
}

bool DurableQueue::drained() const {
  std::lock_guard lock(mutex_);
  return producerClosed_ && cursor_ > lastPublished_;
}

Status DurableQueue::acknowledge(std::uint64_t sequence) {
  WriteBatch batch;
  std::uint64_t bytes = 0, events = 0;
  Generations remaining;
  {
    std::lock_guard lock(mutex_);
    if (sequence <= ackedSequence_) return {};
    for (const auto& [s, size] : unacked_) {
      if (s > sequence) break;
      bytes += size;
      ++events;
    }
    // RocksDB (7.x) re-sorts every range tombstone in the memtable whenever an iterator is created,
    // so one range per small acknowledgement makes a trickle of live events slow down without
    // bound; a point delete per entry would make a drained backlog's tombstones as many as its
    // events. Large acknowledgements take one range from the previous one, small ones point deletes.
    if (events >= kRangeDeleteFrom || sequence >= cursor_) {
      batch.removeRange(Family::Queue, queueKey(ackedSequence_ + 1), queueKey(sequence + 1));
    } else {
      for (const auto& [s, size] : unacked_) {
        if (s > sequence) break;
        batch.remove(Family::Queue, queueKey(s));
      }
    }
    batch.put(Family::Meta, kAckedSequenceKey, std::to_string(sequence));
    batch.put(Family::Meta, kAckedBytesKey, std::to_string(ackedBytes_ + bytes));
    batch.put(Family::Meta, kAckedEventsKey, std::to_string(ackedEvents_ + events));
    // A generation whose last event this acknowledges is forgotten in the same write.
    remaining = stillNeeded(generations_, sequence);
    if (remaining.size() != generations_.size()) batch.put(Family::Meta, kGenerationsKey, encodeGenerations(remaining));
  }
  if (auto written = store_.write(batch); !written) return written;
  {
    std::lock_guard lock(mutex_);
    generations_ = std::move(remaining);
    while (!unacked_.empty() && unacked_.front().first <= sequence) unacked_.pop_front();
    ackedSequence_ = sequence;
    ackedBytes_ += bytes;
    ackedEvents_ += events;
    updateGauges();
  }
  changed_.notify_all();
  return {};
}

std::uint64_t DurableQueue::bytes() const {
  std::lock_guard lock(mutex_);
  return appendedBytes_ - ackedBytes_;
}

Generations DurableQueue::generations() const {
  std::lock_guard lock(mutex_);
  return generations_;
}

std::uint64_t DurableQueue::events() const {
  std::lock_guard lock(mutex_);
  return appendedEvents_ - ackedEvents_;
}

void DurableQueue::updateGauges() {
  eventsGauge_.set(static_cast<std::int64_t>(appendedEvents_ - ackedEvents_));
  bytesGauge_.set(static_cast<std::int64_t>(appendedBytes_ - ackedBytes_));
}

}  // namespace fim::queue
