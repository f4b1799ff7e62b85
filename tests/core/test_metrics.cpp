// Tests for Metrics: stable references, thread-safe counting, nested JSON output.

#include <doctest/doctest.h>

#include <latch>
#include <stdexcept>
#include <thread>
#include <vector>

#include <rapidjson/document.h>

#include "core/health.h"
#include "core/metrics.h"

using fim::core::Metrics;

namespace {

rapidjson::Document parse(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.c_str(), json.size());
  REQUIRE_MESSAGE(!doc.HasParseError(), json);
  REQUIRE(doc.IsObject());
  return doc;
}

}  // namespace

TEST_CASE("the same name gives the same object") {
  Metrics metrics;
  auto& a = metrics.counter("output.events.acked");
  a.add();
  for (int i = 0; i < 100; ++i) metrics.counter("filler." + std::to_string(i)).add();
  auto& b = metrics.counter("output.events.acked");
  CHECK(&a == &b);
  CHECK(b.value() == 1);
  auto& g = metrics.gauge("queue.depth");
  CHECK(&g == &metrics.gauge("queue.depth"));
}

TEST_CASE("counter and gauge arithmetic") {
  Metrics metrics;
  auto& c = metrics.counter("c");
  c.add();
  c.add(41);
  CHECK(c.value() == 42);
  auto& g = metrics.gauge("g");
  g.set(10);
  g.add(-3);
  CHECK(g.value() == 7);
}

TEST_CASE("a name is one kind, and malformed names are refused") {
  Metrics metrics;
  metrics.counter("x.y");
  CHECK_THROWS_AS(metrics.gauge("x.y"), std::logic_error);
  CHECK_THROWS_AS(metrics.counter(""), std::invalid_argument);
  CHECK_THROWS_AS(metrics.counter("a..b"), std::invalid_argument);
  CHECK_THROWS_AS(metrics.counter(".a"), std::invalid_argument);
  CHECK_THROWS_AS(metrics.gauge("a."), std::invalid_argument);
}

TEST_CASE("concurrent increments and creation sum correctly") {
  Metrics metrics;
  constexpr int kThreads = 8;
  constexpr int kIncrements = 20000;
  std::latch start(kThreads);
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        start.arrive_and_wait();  // all threads race on first creation too
        for (int i = 0; i < kIncrements; ++i) metrics.counter("hits").add();
        metrics.gauge("shared.gauge").add(2);
      });
    }
  }
  CHECK(metrics.counter("hits").value() == kThreads * kIncrements);
  CHECK(metrics.gauge("shared.gauge").value() == 2 * kThreads);
}

TEST_CASE("snapshot is sorted by name") {
  Metrics metrics;
  metrics.counter("b").add(2);
  metrics.gauge("a.z").set(1);
  metrics.counter("a-c").add(3);
  const auto snap = metrics.snapshot();
  REQUIRE(snap.size() == 3);
  CHECK(snap[0].first == "a-c");
  CHECK(snap[1].first == "a.z");
  CHECK(snap[1].second == 1);
  CHECK(snap[2].first == "b");
  CHECK(snap[2].second == 2);
}

TEST_CASE("toJson nests on dots") {
  Metrics metrics;
  CHECK(metrics.toJson() == "{}");
  metrics.counter("output.events.acked").add(3);
  metrics.counter("output.events.failed");
  metrics.gauge("output.queue.depth").set(-5);
  metrics.counter("watcher.files").add(7);
  const auto doc = parse(metrics.toJson());
  CHECK(doc["output"]["events"]["acked"].GetInt64() == 3);
  CHECK(doc["output"]["events"]["failed"].GetInt64() == 0);
  CHECK(doc["output"]["queue"]["depth"].GetInt64() == -5);
  CHECK(doc["watcher"]["files"].GetInt64() == 7);
  CHECK(doc.MemberCount() == 2);
}

TEST_CASE("a leaf that is also a prefix goes under \"value\"") {
  Metrics metrics;
  metrics.counter("a").add(1);
  metrics.counter("a.b").add(2);
  metrics.counter("a-c").add(4);  // sorts between "a" and "a.b"
  const auto doc = parse(metrics.toJson());
  REQUIRE(doc["a"].IsObject());
  CHECK(doc["a"]["value"].GetInt64() == 1);
  CHECK(doc["a"]["b"].GetInt64() == 2);
  CHECK(doc["a-c"].GetInt64() == 4);

  metrics.counter("a.value").add(3);  // now "value" is taken: the leaf moves to ""
  const auto doc2 = parse(metrics.toJson());
  CHECK(doc2["a"][""].GetInt64() == 1);
  CHECK(doc2["a"]["value"].GetInt64() == 3);
  CHECK(doc2["a"].MemberCount() == 3);
}

TEST_CASE("histogram: percentiles within an eighth of the value, exact below 8, never above the max") {
  fim::core::Histogram h;
  CHECK(h.percentile(0.5) == 0);
  for (std::uint64_t v = 1; v <= 1000; ++v) h.record(v);
  CHECK(h.count() == 1000);
  CHECK(h.max() == 1000);
  const auto p50 = h.percentile(0.5), p99 = h.percentile(0.99);
  CHECK(p50 >= 500);
  CHECK(p50 <= 500 + 500 / 8);
  CHECK(p99 >= 990);
  CHECK(p99 <= 1000);
  CHECK(h.percentile(1.0) == 1000);
  fim::core::Histogram small;
  for (std::uint64_t v : {3, 3, 5, 7}) small.record(v);
  CHECK(small.percentile(0.5) == 3);
  CHECK(small.percentile(1.0) == 7);
  fim::core::Histogram huge;
  huge.record(~0ull);
  CHECK(huge.percentile(0.5) == ~0ull);
}

TEST_CASE("histogram: the registry reports its count, p50, p99 and max, and keeps kinds apart") {
  fim::core::Metrics metrics;
  auto& h = metrics.histogram("pipeline.latency_us");
  CHECK(&h == &metrics.histogram("pipeline.latency_us"));
  h.record(100);
  h.record(200);
  const auto snapshot = metrics.snapshot();
  const std::vector<std::pair<std::string, std::int64_t>> expected{
      {"pipeline.latency_us.count", 2}, {"pipeline.latency_us.max", 200}, {"pipeline.latency_us.p50", 103},
      {"pipeline.latency_us.p99", 200}};
  CHECK(snapshot == expected);
  CHECK_THROWS_AS(metrics.counter("pipeline.latency_us"), std::logic_error);
}

TEST_CASE("health: the worst condition wins, per unit and overall, and clearing restores it") {
  fim::core::Health health;
  using fim::core::Health;
  using fim::core::HealthState;
  CHECK((health.overall().state == HealthState::Healthy));
  health.set(Health::kQueue, "max_size", HealthState::Degraded, "the queue is full");
  health.set(Health::kOutput, "write", HealthState::Degraded, "retrying: connection refused");
  health.set(Health::kOutput, "auth", HealthState::Failed, "authentication failed");
  CHECK((health.unit(Health::kOutput).state == HealthState::Failed));
  CHECK(health.unit(Health::kOutput).message == "authentication failed");
  const auto overall = health.overall();
  CHECK((overall.state == HealthState::Failed));
  CHECK(overall.message == "output: authentication failed");
  const auto before = health.generation();
  health.set(Health::kOutput, "auth", HealthState::Failed, "authentication failed");  // no change
  CHECK(health.generation() == before);
  health.clear(Health::kOutput, "auth");
  health.set(Health::kOutput, "write", HealthState::Healthy, "");
  CHECK((health.overall().state == HealthState::Degraded));
  CHECK(health.overall().message == "queue: the queue is full");
  CHECK(health.units().size() == 1);
  CHECK(std::string(fim::core::toString(HealthState::Degraded)) == "DEGRADED");
}
