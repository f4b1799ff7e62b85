#include <doctest/doctest.h>

#include "queue/delivery_generations.h"
#include "queue/durable_queue.h"
#include "queue/event_codec.h"
#include "support/memory_store.h"
#include "support/queue_events.h"

using namespace fim;
using namespace std::chrono_literals;

namespace {

events::DeliverySettings settingsFor(const std::string& ns) {
  return {"logs-fim.event-" + ns, "logs", "fim.event", ns};
}

std::vector<events::FileEvent> readAll(queue::DurableQueue& queue) {
  std::vector<events::FileEvent> out;
  auto n = queue.read(out, 100, {}, 0ms);
  REQUIRE(n.has_value());
  return out;
}

}  // namespace

TEST_CASE("generations: the codec round-trips, and damaged or foreign-version values are errors") {
  queue::Generations g;
  g.emplace(0, queue::Generation{0, std::make_shared<const events::DeliverySettings>(settingsFor("a"))});
  g.emplace(3, queue::Generation{42, std::make_shared<const events::DeliverySettings>(settingsFor("b"))});
  const std::string bytes = queue::encodeGenerations(g);
  auto decoded = queue::decodeGenerations(bytes);
  REQUIRE(decoded.has_value());
  REQUIRE(decoded->size() == 2);
  CHECK(decoded->at(3).firstSequence == 42);
  CHECK(*decoded->at(3).settings == settingsFor("b"));
  CHECK(*decoded->at(0).settings == settingsFor("a"));
  CHECK_FALSE(queue::decodeGenerations(bytes.substr(0, bytes.size() - 1)).has_value());
  CHECK_FALSE(queue::decodeGenerations(bytes + "x").has_value());
  std::string other = bytes;
  other[0] = static_cast<char>(queue::kGenerationsVersion + 1);
  CHECK_FALSE(queue::decodeGenerations(other).has_value());
}

TEST_CASE("generations: a new one starts only when the settings change, and one ends once its last event is acknowledged") {
  auto g = queue::withCurrent({}, settingsFor("a"), 7);
  REQUIRE(g.size() == 1);
  CHECK(g.begin()->first == 0);  // entries written before generations existed decode as 0
  CHECK(g.begin()->second.firstSequence == 0);
  CHECK(queue::withCurrent(g, settingsFor("a"), 9).size() == 1);
  g = queue::withCurrent(g, settingsFor("b"), 10);
  REQUIRE(g.size() == 2);
  CHECK(g.rbegin()->first == 1);
  CHECK(g.rbegin()->second.firstSequence == 10);
  CHECK(queue::stillNeeded(g, 8).size() == 2);  // sequence 9 of generation 0 is not acknowledged
  CHECK(queue::stillNeeded(g, 9).size() == 1);
  CHECK(queue::stillNeeded(g, 1000).begin()->first == 1);  // the latest is always kept
}

TEST_CASE("durable queue: each event is read with the settings of the generation it was queued under, across reopens") {
  testing::MemoryStore store;
  core::Metrics metrics;
  {
    queue::DurableQueue queue(store, 1 << 20, metrics);
    REQUIRE(queue.open(settingsFor("a")).has_value());
    (void)testing::appendCreated(queue, store, {"/a1", "/a2"});
  }
  {
    queue::DurableQueue queue(store, 1 << 20, metrics);
    REQUIRE(queue.open(settingsFor("b")).has_value());  // e.g. a new Fleet policy
    (void)testing::appendCreated(queue, store, {"/b1"});
  }
  queue::DurableQueue queue(store, 1 << 20, metrics);
  REQUIRE(queue.open(settingsFor("b")).has_value());  // a restart on the same policy: no new generation
  CHECK(queue.generations().size() == 2);
  (void)testing::appendCreated(queue, store, {"/b2"});
  auto events = readAll(queue);
  REQUIRE(events.size() == 4);
  for (const auto& e : events) {
    CAPTURE(e.file.path);
    REQUIRE(e.delivery);
    CHECK(e.delivery->ns == (e.file.path.starts_with("/a") ? "a" : "b"));
    CHECK(e.delivery->index == (e.file.path.starts_with("/a") ? "logs-fim.event-a" : "logs-fim.event-b"));
  }
  // Generation "a" is forgotten, in the same write, once its last event is acknowledged.
  REQUIRE(queue.acknowledge(events[0].sequence).has_value());
  CHECK(queue.generations().size() == 2);
  REQUIRE(queue.acknowledge(events[1].sequence).has_value());
  CHECK(queue.generations().size() == 1);
  auto stored = store.get(core::Family::Meta, queue::kGenerationsKey);
  REQUIRE(stored.has_value());
  REQUIRE(stored->has_value());
  auto decoded = queue::decodeGenerations(**stored);
  REQUIRE(decoded.has_value());
  CHECK(decoded->size() == 1);
  CHECK(decoded->begin()->second.settings->ns == "b");
}

TEST_CASE("durable queue: entries queued before generations existed (event version 4) keep the settings of the first start") {
  testing::MemoryStore store;
  core::Metrics metrics;
  {
    queue::DurableQueue queue(store, 1 << 20, metrics);
    REQUIRE(queue.open().has_value());  // as a fimbeat without generations ran
    (void)testing::appendCreated(queue, store, {"/old"});
  }
  // Rewrite the entry as version 4 wrote it: no generation at the end.
  std::string key, value;
  REQUIRE(store.scan(core::Family::Queue, "", [&](std::string_view k, std::string_view v) {
    key = k;
    value = v;
    return false;
  }).has_value());
  value = value.substr(0, value.size() - 4);
  value[0] = 4;
  core::WriteBatch rewrite;
  rewrite.put(core::Family::Queue, key, value);
  REQUIRE(store.write(rewrite).has_value());
  {
    queue::DurableQueue queue(store, 1 << 20, metrics);
    REQUIRE(queue.open(settingsFor("upgrade")).has_value());  // the first start of the new version
  }
  queue::DurableQueue queue(store, 1 << 20, metrics);
  REQUIRE(queue.open(settingsFor("later")).has_value());  // then a new configuration
  (void)testing::appendCreated(queue, store, {"/new"});
  auto events = readAll(queue);
  REQUIRE(events.size() == 2);
  CHECK(events[0].generation == 0);
  CHECK(events[0].delivery->ns == "upgrade");
  CHECK(events[1].delivery->ns == "later");
}

TEST_CASE("durable queue: damaged stored generations do not stop the queue, and its events get the current settings") {
  testing::MemoryStore store;
  core::Metrics metrics;
  core::WriteBatch damage;
  damage.put(core::Family::Meta, queue::kGenerationsKey, "\x01garbage");
  REQUIRE(store.write(damage).has_value());
  queue::DurableQueue queue(store, 1 << 20, metrics);
  REQUIRE(queue.open(settingsFor("now")).has_value());
  CHECK(metrics.counter("queue.corrupt").value() == 1);
  (void)testing::appendCreated(queue, store, {"/x"});
  auto events = readAll(queue);
  REQUIRE(events.size() == 1);
  CHECK(events[0].delivery->ns == "now");
}
