#include <doctest/doctest.h>

#include <atomic>
#include <functional>
#include <thread>

#include "queue/durable_queue.h"
#include "core/health.h"
#include "queue/event_codec.h"
#include "support/forwarding_store.h"
#include "support/memory_store.h"
#include "support/queue_events.h"

using namespace fim;
using namespace std::chrono_literals;

namespace {

using testing::createdEvent;

void appendAll(queue::DurableQueue& queue, core::KvStore& store, const std::vector<std::string>& paths) {
  (void)testing::appendCreated(queue, store, paths);
}

std::vector<events::FileEvent> readAll(queue::DurableQueue& queue, std::size_t max = 100) {
  std::vector<events::FileEvent> out;
  auto n = queue.read(out, max, {}, 0ms);
  REQUIRE(n.has_value());
  return out;
}

}  // namespace

TEST_CASE("queue keys are fixed-width big-endian, so key order is FIFO order") {
  CHECK(queue::queueKey(1) < queue::queueKey(2));
  CHECK(queue::queueKey(255) < queue::queueKey(256));
  CHECK(queue::queueKey(65535) < queue::queueKey(65536));
  CHECK(queue::queueKey(0x0102030405060708ull) == std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  CHECK(queue::queueSequence(queue::queueKey(123456789)) == 123456789);
  CHECK(queue::queueSequence("short") == 0);
}

TEST_CASE("durable queue: entries are read in order once written, and acknowledged ones are removed") {
  testing::MemoryStore store;
  core::Metrics metrics;
  queue::DurableQueue queue(store, 1 << 20, metrics);
  REQUIRE(queue.open().has_value());

  core::WriteBatch batch;
  auto e = createdEvent("/a");
  queue.append(batch, e);
  CHECK(e.sequence == 1);
  CHECK(readAll(queue).empty());  // not written yet
  queue.seal(batch);
  REQUIRE(store.write(batch).has_value());
  queue.published({});
  appendAll(queue, store, {"/b", "/c"});

  auto events = readAll(queue, 2);
  REQUIRE(events.size() == 2);
  CHECK(events[0].file.path == "/a");
  CHECK(events[0].sequence == 1);
  CHECK(events[1].sequence == 2);
  events = readAll(queue);
  REQUIRE(events.size() == 1);
  CHECK(events[0].file.path == "/c");
  CHECK(queue.events() == 3);
  CHECK(metrics.gauge("queue.events").value() == 3);

  REQUIRE(queue.acknowledge(2).has_value());
  CHECK(store.count(core::Family::Queue) == 1);
  CHECK(queue.events() == 1);
  REQUIRE(queue.acknowledge(3).has_value());
  CHECK(store.count(core::Family::Queue) == 0);
  CHECK(queue.bytes() == 0);
  CHECK(metrics.gauge("queue.bytes").value() == 0);
}

TEST_CASE("durable queue: acknowledging entries not read yet removes them too, and they are not read again") {
  testing::MemoryStore store;
  core::Metrics metrics;
  queue::DurableQueue queue(store, 1 << 20, metrics);
  REQUIRE(queue.open().has_value());
  appendAll(queue, store, {"/a", "/b", "/c", "/d"});
  REQUIRE(readAll(queue, 1).size() == 1);
  REQUIRE(queue.acknowledge(3).has_value());
  CHECK(store.count(core::Family::Queue) == 1);
  const auto rest = readAll(queue);
  REQUIRE(rest.size() == 1);
  CHECK(rest[0].file.path == "/d");
}

TEST_CASE("durable queue: a batch that failed to write leaves no entry and frees its sequences") {
  testing::MemoryStore store;
  core::Metrics metrics;
  queue::DurableQueue queue(store, 1 << 20, metrics);
  REQUIRE(queue.open().has_value());
  store.failWrites = true;
  appendAll(queue, store, {"/lost"});
  store.failWrites = false;
  CHECK(readAll(queue).empty());
  CHECK(queue.events() == 0);
  appendAll(queue, store, {"/kept"});
  auto events = readAll(queue);
  REQUIRE(events.size() == 1);
  CHECK(events[0].sequence == 1);
}

TEST_CASE("durable queue: a restart replays what was not acknowledged, and sequences never repeat") {
  testing::MemoryStore store;
  core::Metrics metrics;
  {
    queue::DurableQueue queue(store, 1 << 20, metrics);
    REQUIRE(queue.open().has_value());
    appendAll(queue, store, {"/1", "/2", "/3"});
    REQUIRE(readAll(queue).size() == 3);
    REQUIRE(queue.acknowledge(1).has_value());
  }  // "crash": /2 and /3 were read but never acknowledged
  {
    queue::DurableQueue queue(store, 1 << 20, metrics);
    REQUIRE(queue.open().has_value());
    CHECK(queue.events() == 2);
    auto events = readAll(queue);
    REQUIRE(events.size() == 2);
    CHECK(events[0].file.path == "/2");
    CHECK(events[0].sequence == 2);
    REQUIRE(queue.acknowledge(3).has_value());
    CHECK(queue.events() == 0);
  }
  queue::DurableQueue queue(store, 1 << 20, metrics);
  REQUIRE(queue.open().has_value());
  appendAll(queue, store, {"/4"});
  auto events = readAll(queue);
  REQUIRE(events.size() == 1);
  CHECK(events[0].sequence == 4);  // the queue was empty, yet sequence 1 is not reused
}

TEST_CASE("durable queue: the producer waits while the queue is full, until an acknowledgement frees room") {
  testing::MemoryStore store;
  core::Metrics metrics;
  queue::DurableQueue queue(store, 1, metrics);  // one byte: any entry fills it
  REQUIRE(queue.open().has_value());
  CHECK(queue.waitForSpace({}));
  appendAll(queue, store, {"/full"});
  REQUIRE(readAll(queue).size() == 1);

  std::stop_source stopped;
  stopped.request_stop();
  CHECK_FALSE(queue.waitForSpace(stopped.get_token()));
  CHECK(metrics.counter("queue.backpressure").value() == 1);

  std::atomic<int> roomAgain{0};
  queue.onRoomAgain([&] { ++roomAgain; });
  std::atomic<bool> resumed{false};
  std::jthread producer([&] { resumed = queue.waitForSpace({}); });
  const auto deadline = std::chrono::steady_clock::now() + 10s;  // until the producer is waiting
  while (metrics.counter("queue.backpressure").value() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  REQUIRE(metrics.counter("queue.backpressure").value() == 2);
  REQUIRE(queue.acknowledge(1).has_value());
  producer.join();
  CHECK(resumed.load());
  CHECK(roomAgain.load() == 1);  // the watcher is asked to verify what it may have missed
  CHECK(queue.waitForSpace({}));
  CHECK(roomAgain.load() == 1);  // no wait, no callback
}

namespace {

// Calls waitForSpace on a thread of its own; done once it returned.
struct WaitingProducer {
  explicit WaitingProducer(queue::DurableQueue& queue) : thread([&] { resumed = queue.waitForSpace({}); done = true; }) {}
  std::atomic<bool> resumed{false}, done{false};
  std::jthread thread;
};

bool eventually(const std::function<bool()>& predicate) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!predicate() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  return predicate();
}

}  // namespace

TEST_CASE("durable queue: below queue.min_free the producer waits, DEGRADED, and resumes with a rescan once there is room") {
  testing::MemoryStore store;
  core::Metrics metrics;
  core::Health health;
  queue::DurableQueue queue(store, 1 << 20, metrics, &health);
  REQUIRE(queue.open().has_value());
  std::atomic<std::uint64_t> available{100};
  queue.reserve({10, 5.0, [&]() -> core::Result<queue::FreeSpace> { return queue::FreeSpace{available.load(), 1000}; }});
  CHECK(queue.waitForSpace({}));  // 100 free; the reserve is the smaller of 10 bytes and 5 % (50)

  available = 9;
  std::atomic<int> roomAgain{0};
  queue.onRoomAgain([&] { ++roomAgain; });
  WaitingProducer producer(queue);
  REQUIRE(eventually([&] { return metrics.counter("queue.disk_full").value() == 1; }));
  const auto unit = health.unit(core::Health::kQueue);
  CHECK((unit.state == core::HealthState::Degraded));
  CHECK(unit.message.find("queue.min_free keeps 10") != std::string::npos);
  CHECK_FALSE(producer.done.load());
  available = 11;
  REQUIRE(eventually([&] { return producer.done.load(); }));
  CHECK(producer.resumed.load());
  CHECK(roomAgain.load() == 1);
  CHECK((health.unit(core::Health::kQueue).state == core::HealthState::Healthy));
}

TEST_CASE("durable queue: a write the store refused pauses the producer until the store takes writes again") {
  testing::MemoryStore store;
  core::Metrics metrics;
  core::Health health;
  queue::DurableQueue queue(store, 1 << 20, metrics, &health);
  REQUIRE(queue.open().has_value());
  store.failWrites = true;
  CHECK_FALSE(testing::appendCreated(queue, store, {"/refused"}));
  std::atomic<int> roomAgain{0};
  queue.onRoomAgain([&] { ++roomAgain; });
  WaitingProducer producer(queue);
  REQUIRE(eventually([&] { return metrics.counter("queue.disk_full").value() == 1; }));
  CHECK(health.unit(core::Health::kQueue).message.find("injected write failure") != std::string::npos);
  CHECK_FALSE(producer.done.load());
  store.failWrites = false;  // resume() now succeeds
  REQUIRE(eventually([&] { return producer.done.load(); }));
  CHECK(producer.resumed.load());
  CHECK(roomAgain.load() == 1);  // what changed while writes failed is found by a rescan
  CHECK(testing::appendCreated(queue, store, {"/taken"}));
}

TEST_CASE("durable queue: drained once the producer closed and everything was read, corrupt entries are skipped") {
  testing::MemoryStore store;
  core::Metrics metrics;
  queue::DurableQueue queue(store, 1 << 20, metrics);
  REQUIRE(queue.open().has_value());
  appendAll(queue, store, {"/a", "/b"});
  core::WriteBatch corrupt;
  corrupt.put(core::Family::Queue, queue::queueKey(1), "garbage");
  REQUIRE(store.write(corrupt).has_value());
  queue.closeProducer();
  CHECK_FALSE(queue.drained());
  auto events = readAll(queue);
  REQUIRE(events.size() == 1);
  CHECK(events[0].file.path == "/b");
  CHECK(metrics.counter("queue.corrupt").value() == 1);
  CHECK(queue.drained());
  REQUIRE(queue.acknowledge(2).has_value());
  CHECK(store.count(core::Family::Queue) == 0);
}

namespace {

// A MemoryStore that records the queue deletions written to it.
class RangeRecordingStore final : public testing::ForwardingStore {
 public:
  core::Status write(const core::WriteBatch& batch) override {
    for (const auto& op : batch.ops()) {
      if (op.family != core::Family::Queue || op.value) continue;
      if (op.end) {
        ranges.emplace_back(queue::queueSequence(op.key), queue::queueSequence(*op.end));
      } else {
        deleted.push_back(queue::queueSequence(op.key));
      }
    }
    return inner.write(batch);
  }

  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;  // [begin, end) sequences
  std::vector<std::uint64_t> deleted;                           // point deletions
};

}  // namespace

// RocksDB (7.x) fragments a memtable's range tombstones again for every new iterator, so each
// read would cost O(acknowledgements): delivered entries are removed one key each, exactly once.
TEST_CASE("durable queue: each acknowledgement removes exactly the entries delivered since the previous one") {
  RangeRecordingStore store;
  core::Metrics metrics;
  {
    queue::DurableQueue queue(store, 1 << 20, metrics);
    REQUIRE(queue.open().has_value());
    appendAll(queue, store, {"/1", "/2", "/3", "/4", "/5"});
    REQUIRE(readAll(queue).size() == 5);
    REQUIRE(queue.acknowledge(2).has_value());
    REQUIRE(queue.acknowledge(2).has_value());  // nothing new: no write
    REQUIRE(queue.acknowledge(4).has_value());
  }
  queue::DurableQueue queue(store, 1 << 20, metrics);
  REQUIRE(queue.open().has_value());
  REQUIRE(readAll(queue).size() == 1);
  REQUIRE(queue.acknowledge(5).has_value());
  CHECK(store.ranges.empty());
  CHECK((store.deleted == std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
  CHECK(store.inner.count(core::Family::Queue) == 0);
}

TEST_CASE("durable queue: a large acknowledgement is one range from the previous one, a small one point deletes") {
  RangeRecordingStore store;
  core::Metrics metrics;
  queue::DurableQueue queue(store, 1 << 30, metrics);
  REQUIRE(queue.open().has_value());
  std::vector<std::string> paths;
  for (int i = 0; i < 110; ++i) paths.push_back("/f" + std::to_string(i));
  appendAll(queue, store, paths);
  REQUIRE(readAll(queue, 200).size() == 110);
  REQUIRE(queue.acknowledge(100).has_value());  // a drained backlog's batch
  REQUIRE(queue.acknowledge(102).has_value());  // a trickle of live events
  using Range = std::pair<std::uint64_t, std::uint64_t>;
  CHECK((store.ranges == std::vector<Range>{{1, 101}}));
  CHECK((store.deleted == std::vector<std::uint64_t>{101, 102}));
  CHECK(store.inner.count(core::Family::Queue) == 8);
  CHECK(queue.events() == 8);
}
