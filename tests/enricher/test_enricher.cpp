#include "enricher/enricher.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <doctest/doctest.h>
#include <spdlog/sinks/base_sink.h>

#include "core/logging.h"

#include "enricher/host_info.h"
#include "fake_metadata_server.h"

namespace fim::enricher {
namespace {

using namespace std::chrono_literals;
using fim::testing::FakeMetadataServer;

// Polls `condition` until it holds or `timeout` passes; no fixed sleep decides the outcome.
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);  // polling interval, not a wait for the condition
  }
  return true;
}

config::Config twoModules() {
  config::Config config;
  config.tags = {"global", "shared"};
  config::ModuleConfig etc;
  etc.tags = {"shared", "etc-only"};
  config.modules = {etc, config::ModuleConfig{}};
  config.hostMetadata.cacheTtl = config::Duration::zero();  // no background refresh unless a test asks
  return config;
}

events::Metadata initialMetadata(const std::string& hostName) {
  events::Metadata m;
  m.agent = {.id = "7e061f66-bf86-41e2-858d-d5cbe22e06b1", .ephemeralId = "5c919e9b-3b1f-4426-b93f-f5705bac73f9",
             .name = "agent-x", .version = "0.1.0"};
  m.host.hostname = hostName;
  m.host.name = hostName;
  return m;
}

events::FileEvent eventOf(std::size_t module) {
  events::FileEvent event;
  event.module = module;
  event.file.path = "/etc/passwd";
  return event;
}

TEST_CASE("enrich: the current snapshot and the module's tags, global first, each once") {
  core::Metrics metrics;
  const auto config = twoModules();
  Enricher enricher(config, metrics, initialMetadata("old-name"));
  auto first = enricher.enrich(eventOf(0));
  auto second = enricher.enrich(eventOf(1));
  auto outOfRange = enricher.enrich(eventOf(7));
  CHECK(first.tags == std::vector<std::string>{"global", "shared", "etc-only"});
  CHECK(second.tags == std::vector<std::string>{"global", "shared"});
  CHECK(outOfRange.tags.empty());
  REQUIRE(first.metadata);
  CHECK(first.metadata == second.metadata);  // one snapshot shared, not copied per event
  CHECK(first.metadata->agent.id == "7e061f66-bf86-41e2-858d-d5cbe22e06b1");
  CHECK(first.metadata->host.name == "old-name");
  CHECK(first.event.file.path == "/etc/passwd");
}

TEST_CASE("refresh: a new snapshot is swapped in, events already enriched keep theirs") {
  core::Metrics metrics;
  const auto config = twoModules();
  Enricher enricher(config, metrics, initialMetadata("old-name"));
  auto before = enricher.enrich(eventOf(0));
  enricher.refreshHost();
  auto after = enricher.enrich(eventOf(0));
  CHECK(before.metadata->host.name == "old-name");
  CHECK(after.metadata->host.hostname == localHostName());
  CHECK(after.metadata->agent.id == before.metadata->agent.id);  // agent.* survives a host refresh
  CHECK(metrics.counter("enricher.host.refreshes").value() == 1);
}

TEST_CASE("background: host.* is re-read every cache.ttl") {
  core::Metrics metrics;
  auto config = twoModules();
  config.hostMetadata.cacheTtl = 20ms;
  Enricher enricher(config, metrics, initialMetadata("old-name"));
  enricher.start();
  CHECK(eventually([&] { return metrics.counter("enricher.host.refreshes").value() >= 2; }));
  CHECK(enricher.metadata()->host.hostname == localHostName());
  enricher.stop();
  const auto refreshes = metrics.counter("enricher.host.refreshes").value();
  CHECK(metrics.counter("enricher.host.refreshes").value() == refreshes);  // stopped: no more refreshes
}

TEST_CASE("background: cloud.* joins the snapshot once the probe finds a provider") {
  FakeMetadataServer server;
  std::mutex mutex;
  std::condition_variable cv;
  bool release = false;
  server.routes().Get("/metadata/v1.json", [&](const httplib::Request&, httplib::Response& res) {
    std::unique_lock lock(mutex);
    cv.wait_for(lock, 10s, [&] { return release; });  // the answer comes when the test says so
    res.set_content(R"({"droplet_id": 2756294, "region": "nyc3"})", "application/json");
  });
  server.start();

  core::Metrics metrics;
  auto config = twoModules();
  config.cloudMetadata.enabled = true;
  config.cloudMetadata.host = server.host();
  config.cloudMetadata.providers = {"digitalocean"};
  config.cloudMetadata.timeout = std::chrono::seconds(20);
  Enricher enricher(config, metrics, initialMetadata("old-name"));
  enricher.start();

  auto during = enricher.enrich(eventOf(0));  // events flow while the probe runs
  CHECK_FALSE(during.metadata->cloud.has_value());
  {
    std::lock_guard lock(mutex);
    release = true;
  }
  cv.notify_all();
  REQUIRE(eventually([&] { return enricher.metadata()->cloud.has_value(); }));
  auto after = enricher.enrich(eventOf(0));
  CHECK(after.metadata->cloud->provider == "digitalocean");
  CHECK(after.metadata->cloud->instanceId == "2756294");
  CHECK_FALSE(during.metadata->cloud.has_value());  // an earlier event keeps its snapshot
  CHECK(metrics.gauge("enricher.cloud.found").value() == 1);
}

// Records, for each line the enricher logs, whether the snapshot already had cloud.* then.
class SnapshotAtLogSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit SnapshotAtLogSink(const Enricher& enricher) : enricher_(enricher) {}
  std::vector<std::pair<std::string, bool>> lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    lines_.emplace_back(std::string(msg.payload.data(), msg.payload.size()), enricher_.metadata()->cloud.has_value());
  }
  void flush_() override {}

 private:
  const Enricher& enricher_;
  std::vector<std::pair<std::string, bool>> lines_;
};

TEST_CASE("probeCloudNow: cloud.* is in the snapshot before the line saying later events carry it") {
  FakeMetadataServer server;
  server.routes().Get("/metadata/v1.json", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"droplet_id": 2756294, "region": "nyc3"})", "application/json");
  });
  server.start();
  core::Metrics metrics;
  auto config = twoModules();
  config.cloudMetadata.enabled = true;
  config.cloudMetadata.host = server.host();
  config.cloudMetadata.providers = {"digitalocean"};
  config.cloudMetadata.timeout = std::chrono::seconds(20);
  Enricher enricher(config, metrics, initialMetadata("host-a"));
  auto sink = std::make_shared<SnapshotAtLogSink>(enricher);
  auto& logger = core::logger("enricher");
  logger.sinks().push_back(sink);
  const bool found = enricher.probeCloudNow();
  logger.sinks().pop_back();

  REQUIRE(found);
  const auto lines = sink->lines();
  const auto answered = std::find_if(lines.begin(), lines.end(), [](const auto& line) {
    return line.first.starts_with("add_cloud_metadata: provider digitalocean answered");
  });
  REQUIRE(answered != lines.end());
  CHECK(answered->second);  // a test (or a person) acting on the line sees cloud.* in the next event
}

TEST_CASE("background: cloud probing off unless add_cloud_metadata is configured") {
  FakeMetadataServer server;
  std::atomic<int> requests{0};
  server.routes().Get("/metadata/v1.json", [&](const httplib::Request&, httplib::Response& res) {
    requests++;
    res.set_content(R"({"droplet_id": 1, "region": "nyc3"})", "application/json");
  });
  server.start();
  core::Metrics metrics;
  auto config = twoModules();
  config.cloudMetadata.host = server.host();
  config.hostMetadata.cacheTtl = 10ms;
  Enricher enricher(config, metrics, initialMetadata("old-name"));
  enricher.start();
  // Host refreshes run after the (skipped) probe in the same thread: two of them prove it was skipped.
  REQUIRE(eventually([&] { return metrics.counter("enricher.host.refreshes").value() >= 2; }));
  CHECK(requests == 0);
  CHECK_FALSE(enricher.metadata()->cloud.has_value());
}

TEST_CASE("stop: returns promptly while a probe waits on a slow metadata service") {
  FakeMetadataServer server;
  std::mutex mutex;
  std::condition_variable cv;
  bool entered = false;
  bool release = false;
  server.routes().Get("/metadata/v1.json", [&](const httplib::Request&, httplib::Response& res) {
    std::unique_lock lock(mutex);
    entered = true;
    cv.notify_all();
    cv.wait_for(lock, 30s, [&] { return release; });
    res.status = 404;
  });
  server.start();
  core::Metrics metrics;
  auto config = twoModules();
  config.cloudMetadata.enabled = true;
  config.cloudMetadata.host = server.host();
  config.cloudMetadata.providers = {"digitalocean"};
  config.cloudMetadata.timeout = std::chrono::seconds(30);
  Enricher enricher(config, metrics, initialMetadata("old-name"));
  enricher.start();
  {
    std::unique_lock lock(mutex);
    REQUIRE(cv.wait_for(lock, 10s, [&] { return entered; }));
  }
  const auto start = std::chrono::steady_clock::now();
  enricher.stop();
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  {
    std::lock_guard lock(mutex);
    release = true;
  }
  cv.notify_all();
}

TEST_CASE("enrichBatch: every event of the batch is appended in order with its tags, and the batch is emptied") {
  core::Metrics metrics;
  const auto config = twoModules();
  Enricher enricher(config, metrics, initialMetadata("old-name"));
  std::vector<events::FileEvent> batch;
  for (int i = 0; i < 600; ++i) {
    batch.push_back(eventOf(i % 2));
    batch.back().sequence = static_cast<std::uint64_t>(i + 1);
  }
  std::vector<events::EnrichedEvent> all;
  enricher.enrichBatch(batch, all);
  CHECK(batch.empty());
  batch.push_back(eventOf(0));
  batch.back().sequence = 601;
  enricher.enrichBatch(batch, all);  // appends to what is there
  REQUIRE(all.size() == 601);
  for (std::size_t i = 0; i < all.size(); ++i) REQUIRE(all[i].event.sequence == i + 1);
  CHECK(all[0].tags.size() == 3);
  CHECK(all[1].tags.size() == 2);
  CHECK(all[599].metadata->agent.name == "agent-x");
  CHECK(all[0].metadata == all[599].metadata);  // one snapshot per batch
  CHECK(metrics.counter("enricher.events").value() == 601);
}

}  // namespace
}  // namespace fim::enricher
