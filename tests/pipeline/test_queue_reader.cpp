// The QueueReader: the durable queue's events, in order, to the delivery, at least once.

#include "pipeline/queue_reader.h"

#include <thread>

#include <doctest/doctest.h>

#include "queue/durable_queue.h"
#include "support/forwarding_store.h"
#include "support/memory_store.h"
#include "support/queue_events.h"

namespace fim::pipeline {
namespace {

using namespace std::chrono_literals;

void produce(queue::DurableQueue& queue, core::KvStore& store, const std::vector<std::string>& paths) {
  REQUIRE(testing::appendCreated(queue, store, paths));
}

std::vector<std::string> pathsOf(const std::vector<events::FileEvent>& batch) {
  std::vector<std::string> out;
  for (const auto& e : batch) out.push_back(e.file.path);
  return out;
}

// A store whose scanFrom fails the first `failures` times (a damaged or busy store).
class FlakyStore final : public testing::ForwardingStore {
 public:
  explicit FlakyStore(int failures) : failures_(failures) {}
  core::Status scanFrom(core::Family f, std::string_view start,
                        const std::function<bool(std::string_view, std::string_view)>& visit) override {
    if (f == core::Family::Queue && failures_ > 0) {
      --failures_;
      return core::fail(core::ErrorCode::Io, "injected read failure", true);
    }
    return inner.scanFrom(f, start, visit);
  }
  int failuresLeft() const { return failures_; }

 private:
  int failures_;
};

}  // namespace

TEST_CASE("queue reader: every event in order, in batches of at most batchSize, until the producer closes") {
  testing::MemoryStore store;
  core::Metrics metrics;
  queue::DurableQueue queue(store, 1 << 20, metrics);
  REQUIRE(queue.open().has_value());
  produce(queue, store, {"/a", "/b", "/c", "/d", "/e"});
  queue.closeProducer();
  QueueReader reader(queue, metrics, 2);
  std::vector<std::vector<std::string>> batches;
  reader.run({}, [&](std::vector<events::FileEvent>& batch) {
    batches.push_back(pathsOf(batch));
    REQUIRE(queue.acknowledge(batch.back().sequence).has_value());
    return true;
  }, [] {});
  CHECK(batches == std::vector<std::vector<std::string>>{{"/a", "/b"}, {"/c", "/d"}, {"/e"}});
  CHECK(metrics.counter("queue.read").value() == 5);
  CHECK(queue.events() == 0);
}

TEST_CASE("queue reader: what was read but not acknowledged is delivered again after a restart, in order") {
  testing::MemoryStore store;
  core::Metrics metrics;
  {
    queue::DurableQueue queue(store, 1 << 20, metrics);
    REQUIRE(queue.open().has_value());
    produce(queue, store, {"/a", "/b", "/c"});
    QueueReader reader(queue, metrics, 10);
    int calls = 0;
    reader.run({}, [&](std::vector<events::FileEvent>& batch) {
      ++calls;
      CHECK(pathsOf(batch) == std::vector<std::string>{"/a", "/b", "/c"});
      return false;  // the output could not take it (stopping): nothing acknowledged
    }, [] {});
    CHECK(calls == 1);
  }
  queue::DurableQueue again(store, 1 << 20, metrics);  // the next start
  REQUIRE(again.open().has_value());
  produce(again, store, {"/d"});
  again.closeProducer();
  QueueReader reader(again, metrics, 10);
  std::vector<std::string> delivered;
  reader.run({}, [&](std::vector<events::FileEvent>& batch) {
    for (const auto& p : pathsOf(batch)) delivered.push_back(p);
    REQUIRE(again.acknowledge(batch.back().sequence).has_value());
    return true;
  }, [] {});
  CHECK(delivered == std::vector<std::string>{"/a", "/b", "/c", "/d"});
}

TEST_CASE("queue reader: idle while nothing arrives, a stop request ends it, a failed read is retried") {
  FlakyStore store(1);
  core::Metrics metrics;
  queue::DurableQueue queue(store, 1 << 20, metrics);
  REQUIRE(queue.open().has_value());
  QueueReader reader(queue, metrics, 10);
  std::atomic<int> idles{0};
  std::vector<std::string> delivered;
  std::mutex mutex;
  std::jthread running([&](std::stop_token stop) {
    reader.run(stop, [&](std::vector<events::FileEvent>& batch) {
      std::lock_guard lock(mutex);
      for (const auto& p : pathsOf(batch)) delivered.push_back(p);
      return true;
    }, [&] { ++idles; });
  });
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (idles.load() == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  CHECK(idles.load() > 0);
  produce(queue, store.inner, {"/x"});  // written behind the reader's back, as the baseline does
  bool got = false;
  while (!got && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
    std::lock_guard lock(mutex);
    got = !delivered.empty();
  }
  running.request_stop();
  running.join();
  CHECK(delivered == std::vector<std::string>{"/x"});
  CHECK(store.failuresLeft() == 0);  // the first read failed and was tried again
}

}  // namespace fim::pipeline
