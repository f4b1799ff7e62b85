// The Agent with its real stages on a temporary tree: drain and stop, what stays queued, and the
// database it opens (damaged records, an older format).

#include "app/agent.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "baseline/database_format.h"
#include "baseline/record.h"
#include "baseline/rocksdb_store.h"
#include "config/loader.h"
#include "queue/durable_queue.h"
#include "support/legacy_formats.h"
#include "support/temp_dir.h"

namespace fim::app {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct Run {
  testing::TempDir dir;
  fs::path tree = dir.path() / "tree";
  fs::path out = dir.path() / "out";

  Run() {
    for (const char* f : {"a.conf", "b.conf", "sub/c.conf"}) dir.write("tree/" + std::string(f), f);
  }

  // `output` is the output section; the module watches the tree recursively, hashing sha256.
  config::Config config(const std::string& output = "") const {
    const std::string text = fmt::format(
        "fimbeat.modules:\n- module: file_integrity\n  paths: [{}]\n  recursive: true\n  hash_types: [sha256]\n"
        "  realtime.quiet_period: 50ms\n{}",
        tree.string(), output.empty() ? fmt::format("output.file:\n  path: {}\n", out.string()) : output);
    config::LoadOptions options;
    options.pathHome = (dir.path() / "home").string();
    auto loaded = config::loadText(text, "agent.yml", options);
    REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().message()));
    return loaded->config;
  }

  fs::path database() const { return dir.path() / "home" / "data" / "fimbeat.db"; }

  // Every document the file output wrote, in order.
  std::vector<std::string> documents() const {
    std::vector<std::string> lines;
    if (!fs::is_directory(out)) return lines;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(out)) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      std::ifstream in(file);
      for (std::string line; std::getline(in, line);) lines.push_back(line);
    }
    return lines;
  }

  // The documents about `path` (matched on its JSON string).
  std::size_t documentsAbout(const fs::path& path) const {
    std::size_t n = 0;
    for (const auto& d : documents()) n += d.find("\"path\":\"" + path.string() + "\"") != std::string::npos;
    return n;
  }
};

// Changes a file from another process: the fanotify backend ignores fimbeat's own (this test's) writes.
void rewrite(const fs::path& file, const std::string& content) {
  const std::string command = fmt::format("printf '%s' '{}' > '{}'", content, file.string());
  REQUIRE(std::system(command.c_str()) == 0);
}

template <typename Predicate>
bool waitUntil(Predicate done, std::chrono::seconds limit = 20s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);  // polling interval, not a wait for the condition
  }
  return true;
}

std::unique_ptr<Agent> started(const config::Config& config, core::Metrics& metrics, const core::Clock& clock,
                               core::Health& health) {
  auto agent = Agent::create(config, metrics, health, clock);
  REQUIRE_MESSAGE(agent.has_value(), (agent ? "" : agent.error().message()));
  (*agent)->start();
  return std::move(*agent);
}

std::uint64_t queuedEvents(const fs::path& database) {
  auto store = baseline::RocksDbStore::open(database.string());
  REQUIRE(store.has_value());
  core::Metrics metrics;
  core::Health health;
  queue::DurableQueue queue(**store, 1 << 30, metrics);
  REQUIRE(queue.open().has_value());
  const auto n = queue.events();
  REQUIRE((*store)->close().has_value());
  return n;
}

// One run that records the tree's five paths and stops cleanly.
void recordTheTree(const Run& run, const config::Config& config, const core::Clock& clock) {
  core::Metrics metrics;
  core::Health health;
  auto agent = started(config, metrics, clock, health);
  REQUIRE(waitUntil([&] { return run.documents().size() == 5; }));
  REQUIRE(agent->stop(5s));
}

}  // namespace

TEST_CASE("agent: stopped at once, it drains: every event the baseline recorded is delivered before stop() returns") {
  Run run;
  const auto config = run.config();
  core::Metrics metrics;
  core::Health health;
  core::SystemClock clock;
  auto agent = started(config, metrics, clock, health);
  CHECK(agent->stop(5s));  // the scan may still be running: what it handed over is drained
  const auto recorded = metrics.counter("baseline.changes").value() + metrics.counter("baseline.deleted").value();
  CHECK(static_cast<std::int64_t>(run.documents().size()) == recorded);
  CHECK(metrics.counter("output.events.acked").value() == recorded);
  CHECK(queuedEvents(run.database()) == 0);
}

TEST_CASE("agent: a full run reports every path, then a live change, stop() leaves nothing queued") {
  Run run;
  const auto config = run.config();
  core::Metrics metrics;
  core::Health health;
  core::SystemClock clock;
  auto agent = started(config, metrics, clock, health);
  REQUIRE(waitUntil([&] { return run.documents().size() == 5; }));  // the root, sub and three files
  rewrite(run.tree / "a.conf", "changed");
  REQUIRE(waitUntil([&] { return run.documentsAbout(run.tree / "a.conf") == 2; }));
  CHECK(agent->stop(5s));
  CHECK(agent->drained());
  CHECK(queuedEvents(run.database()) == 0);
}

TEST_CASE("agent: events it could not deliver stay in the durable queue and go out at the next start") {
  Run run;
  // An Elasticsearch output nobody answers: every write fails and is retried until the stop.
  const auto unreachable = run.config("output.elasticsearch:\n  hosts: ['http://127.0.0.1:9']\n"
                                      "  backoff.init: 10ms\n  backoff.max: 20ms\n");
  core::SystemClock clock;
  {
    core::Metrics metrics;
    core::Health health;
    auto agent = started(unreachable, metrics, clock, health);
    // The worker counts the failed write before it reports it in the health: wait for the report.
    REQUIRE(waitUntil([&] { return health.unit(core::Health::kOutput).state == core::HealthState::Degraded; }));
    CHECK(metrics.counter("output.write.errors").value() > 0);
    const auto output = health.unit(core::Health::kOutput);
    CHECK(output.message.find("127.0.0.1:9") != std::string::npos);
    CHECK(agent->stop(300ms));  // a clean stop, though not drained: the events wait for the next start
    CHECK_FALSE(agent->drained());
  }
  const auto queued = queuedEvents(run.database());
  CHECK(queued == 5);
  core::Metrics metrics;
  core::Health health;
  auto agent = started(run.config(), metrics, clock, health);
  REQUIRE(waitUntil([&] { return run.documents().size() == queued; }));
  CHECK(agent->stop(5s));
  CHECK(agent->drained());
  CHECK(queuedEvents(run.database()) == 0);
}

TEST_CASE("agent: a record of a future version and a damaged one never blind their paths: the next change is reported "
          "and the records are rewritten") {
  Run run;
  const auto config = run.config();
  core::SystemClock clock;
  recordTheTree(run, config, clock);
  const auto a = (run.tree / "a.conf").string();
  const auto c = (run.tree / "sub" / "c.conf").string();
  {
    auto store = baseline::RocksDbStore::open(run.database().string());
    REQUIRE(store.has_value());
    auto record = (*store)->get(core::Family::Baseline, a);
    REQUIRE(record.has_value());
    REQUIRE(record->has_value());
    std::string future = **record;
    future[0] = static_cast<char>(baseline::kRecordVersion + 1);  // as a newer fimbeat would write it
    core::WriteBatch damage;
    damage.put(core::Family::Baseline, a, future);
    damage.put(core::Family::Baseline, c, std::string("\x02\x01\xff", 3));  // cut short
    REQUIRE((*store)->write(damage).has_value());
    REQUIRE((*store)->close().has_value());
  }
  const auto before = run.documents().size();
  core::Metrics metrics;
  core::Health health;
  auto agent = started(config, metrics, clock, health);
  // The start-up scan meets both records: each is reported once and its path observed afresh.
  REQUIRE(waitUntil([&] { return metrics.counter("baseline.records.undecodable").value() == 2; }));
  REQUIRE(waitUntil([&] { return run.documents().size() == before + 2; }));
  rewrite(a, "a, changed");
  rewrite(c, "c, changed");
  REQUIRE(waitUntil([&] { return run.documentsAbout(a) == 3 && run.documentsAbout(c) == 3; }));
  REQUIRE(agent->stop(5s));
  auto store = baseline::RocksDbStore::open(run.database().string());
  REQUIRE(store.has_value());
  for (const auto& path : {a, c}) {
    CAPTURE(path);
    auto bytes = (*store)->get(core::Family::Baseline, path);
    REQUIRE(bytes.has_value());
    REQUIRE(bytes->has_value());
    CHECK(baseline::decodeRecord(path, **bytes).has_value());
  }
  CHECK(metrics.counter("baseline.records.undecodable").value() == 2);
}

TEST_CASE("agent: a database of the previous format (fimbeat 0.1) is migrated, nothing is reported as changed") {
  Run run;
  const auto config = run.config();
  core::SystemClock clock;
  recordTheTree(run, config, clock);
  // Rewritten as format 1 held it: records of version 1 (with a write time and a scan id), a
  // scan id in meta, no format key.
  {
    auto store = baseline::RocksDbStore::open(run.database().string());
    REQUIRE(store.has_value());
    core::WriteBatch old;
    REQUIRE((*store)->scan(core::Family::Baseline, "", [&](std::string_view key, std::string_view value) {
      auto info = baseline::decodeRecord(key, value);
      REQUIRE(info.has_value());
      old.put(core::Family::Baseline, std::string(key), testing::version1Record(*info, clock.now(), 4));
      return true;
    }).has_value());
    old.put(core::Family::Meta, "scan_id", "4");
    old.remove(core::Family::Meta, baseline::kFormatKey);
    REQUIRE((*store)->write(old).has_value());
    REQUIRE((*store)->close().has_value());
  }
  const auto before = run.documents().size();
  core::Metrics metrics;
  core::Health health;
  auto agent = started(config, metrics, clock, health);
  REQUIRE(agent->stop(5s));
  CHECK(run.documents().size() == before);  // the migrated records still describe every path
  CHECK(metrics.counter("baseline.records.undecodable").value() == 0);
  auto store = baseline::RocksDbStore::open(run.database().string());
  REQUIRE(store.has_value());
  CHECK(**(*store)->get(core::Family::Meta, baseline::kFormatKey) == std::to_string(baseline::kDatabaseFormat));
  REQUIRE((*store)->scan(core::Family::Baseline, "", [&](std::string_view, std::string_view value) {
    CHECK(static_cast<std::uint8_t>(value.front()) == baseline::kRecordVersion);
    return true;
  }).has_value());
}

}  // namespace fim::app
