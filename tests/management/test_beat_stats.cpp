// /stats in libbeat's shape, the metrics log's deltas and /metrics in Prometheus' text format.

#include <doctest/doctest.h>

#include <algorithm>
#include <regex>
#include <set>
#include <sstream>

#include <rapidjson/document.h>
#include <rapidjson/pointer.h>

#include "management/beat_stats.h"
#include "management/prometheus.h"

using namespace fim;
using management::Stat;
using management::StatKind;

namespace {

management::BeatInfo testInfo() {
  management::BeatInfo info;
  info.name = "web-01";
  info.hostname = "web-01";
  info.uuid = "0b4a3e5c-1d2e-4f60-8a9b-0c1d2e3f4a5b";
  info.ephemeralId = "9f8e7d6c-5b4a-4392-8172-6a5b4c3d2e1f";
  info.version = "0.2.0";
  info.outputType = "elasticsearch";
  info.queueMaxBytes = 1 << 30;
  return info;
}

const Stat* find(const std::vector<Stat>& stats, std::string_view name) {
  auto it = std::find_if(stats.begin(), stats.end(), [&](const Stat& s) { return s.name == name; });
  return it == stats.end() ? nullptr : &*it;
}

std::int64_t intOf(const std::vector<Stat>& stats, std::string_view name) {
  const Stat* stat = find(stats, name);
  REQUIRE_MESSAGE(stat != nullptr, name);
  return std::get<std::int64_t>(stat->value);
}

}  // namespace

// The fields Metricbeat's beat module (stats metricset) reads from /stats: its schema in
// metricbeat/module/beat/stats/data.go and the fields it documents (stats/_meta/fields.yml).
TEST_CASE("/stats holds the fields Metricbeat's beat module reads, as numbers where it wants numbers") {
  core::Metrics metrics;
  metrics.counter("output.events.acked").add(5);
  metrics.counter("output.events.duplicates").add(1);
  metrics.counter("baseline.changes").add(7);
  metrics.gauge("queue.events").set(2);
  metrics.gauge(management::kModulesRunning).set(1);
  management::BeatStats stats(testInfo(), metrics);
  const std::string json = management::statsJson(stats.collect());
  rapidjson::Document doc;
  doc.Parse(json.c_str(), json.size());
  REQUIRE_FALSE(doc.HasParseError());
  for (const char* pointer :
       {"/beat/info/uptime/ms", "/beat/memstats/rss", "/beat/memstats/memory_alloc", "/beat/cpu/user/ticks",
        "/beat/cpu/user/time/ms", "/beat/cpu/system/ticks", "/beat/cpu/system/time/ms", "/beat/cpu/total/ticks",
        "/beat/cpu/total/time/ms", "/beat/cpu/total/value", "/beat/handles/open", "/beat/handles/limit/hard",
        "/beat/handles/limit/soft", "/libbeat/output/events/acked", "/libbeat/output/events/active",
        "/libbeat/output/events/batches", "/libbeat/output/events/dropped", "/libbeat/output/events/duplicates",
        "/libbeat/output/events/failed", "/libbeat/output/events/toomany", "/libbeat/output/events/total",
        "/libbeat/output/write/bytes", "/libbeat/output/write/errors", "/libbeat/pipeline/clients",
        "/libbeat/pipeline/queue/acked", "/libbeat/pipeline/events/active", "/libbeat/pipeline/events/failed",
        "/libbeat/pipeline/events/filtered", "/libbeat/pipeline/events/published", "/libbeat/pipeline/events/retry",
        "/libbeat/pipeline/events/total", "/libbeat/config/module/running"}) {
    const rapidjson::Value* value = rapidjson::Pointer(pointer).Get(doc);
    REQUIRE_MESSAGE(value != nullptr, pointer);
    CHECK_MESSAGE(value->IsInt64(), pointer);
  }
  CHECK(std::string(rapidjson::Pointer("/libbeat/output/type").Get(doc)->GetString()) == "elasticsearch");
  CHECK(std::string(rapidjson::Pointer("/beat/info/ephemeral_id").Get(doc)->GetString()) == testInfo().ephemeralId);
  CHECK(rapidjson::Pointer("/beat/memstats/rss").Get(doc)->GetInt64() > 0);
  CHECK(rapidjson::Pointer("/libbeat/output/events/acked").Get(doc)->GetInt64() == 5);
  CHECK(rapidjson::Pointer("/libbeat/output/events/total").Get(doc)->GetInt64() == 6);
  CHECK(rapidjson::Pointer("/libbeat/pipeline/events/total").Get(doc)->GetInt64() == 7);
  CHECK(rapidjson::Pointer("/libbeat/pipeline/events/active").Get(doc)->GetInt64() == 2);
  CHECK(rapidjson::Pointer("/libbeat/config/module/running").Get(doc)->GetInt64() == 1);
  CHECK(rapidjson::Pointer("/fimbeat/baseline/changes").Get(doc)->GetInt64() == 7);
  CHECK(rapidjson::Pointer("/fimbeat/queue/events").Get(doc)->GetInt64() == 2);
}

TEST_CASE("the periodic line has counters' changes, non-zero or changed gauges, and the texts") {
  core::Metrics metrics;
  auto& acked = metrics.counter("output.events.acked");
  auto& queued = metrics.gauge("queue.events");
  metrics.counter("watcher.scan.files").add(10);
  management::BeatStats stats(testInfo(), metrics);
  const auto before = stats.collect();
  acked.add(3);
  queued.set(4);
  const auto after = stats.collect();
  const auto delta = management::statsDelta(before, after);
  CHECK(intOf(delta, "fimbeat.output.events.acked") == 3);
  CHECK(intOf(delta, "libbeat.output.events.acked") == 3);
  CHECK(intOf(delta, "fimbeat.queue.events") == 4);
  CHECK(find(delta, "fimbeat.watcher.scan.files") == nullptr);  // unchanged counter
  CHECK(find(delta, "libbeat.output.events.failed") == nullptr);
  CHECK(find(delta, "beat.info.ephemeral_id") != nullptr);

  queued.set(0);
  const auto later = management::statsDelta(after, stats.collect());
  CHECK(intOf(later, "fimbeat.queue.events") == 0);  // a gauge that fell to zero is reported once
  CHECK(find(later, "fimbeat.output.events.acked") == nullptr);
}

TEST_CASE("a histogram is a summary in /metrics and count, sum, p50, p99, max in /stats") {
  core::Metrics metrics;
  auto& latency = metrics.histogram("pipeline.live_latency_us");
  for (std::uint64_t v : {100u, 200u, 300u}) latency.record(v);
  management::BeatStats stats(testInfo(), metrics);
  const auto all = stats.collect();
  CHECK(intOf(all, "fimbeat.pipeline.live_latency_us.count") == 3);
  CHECK(intOf(all, "fimbeat.pipeline.live_latency_us.sum") == 600);
  CHECK(intOf(all, "fimbeat.pipeline.live_latency_us.max") == 300);
  CHECK(find(all, "fimbeat.pipeline.live_latency_us.p99")->kind == StatKind::Gauge);
}

TEST_CASE("/metrics is Prometheus text: one TYPE per family, fimbeat_ names, counters ending in _total") {
  core::Metrics metrics;
  metrics.counter("output.events.acked").add(5);
  metrics.gauge("queue.events").set(2);
  metrics.histogram("pipeline.live_latency_us").record(40);
  management::ProcessSample process;
  process.rssBytes = 4096;
  process.cpuUserMs = 1500;
  const std::string text = management::prometheusText(metrics.samples(), process, 1700000000.5);
  CHECK(text.find("# TYPE fimbeat_output_events_acked_total counter\nfimbeat_output_events_acked_total 5\n") != std::string::npos);
  CHECK(text.find("# TYPE fimbeat_queue_events gauge\nfimbeat_queue_events 2\n") != std::string::npos);
  CHECK(text.find("# TYPE fimbeat_pipeline_live_latency_us summary\n") != std::string::npos);
  CHECK(text.find("fimbeat_pipeline_live_latency_us{quantile=\"0.99\"} 40\n") != std::string::npos);
  CHECK(text.find("fimbeat_pipeline_live_latency_us_sum 40\nfimbeat_pipeline_live_latency_us_count 1\n") != std::string::npos);
  CHECK(text.find("process_resident_memory_bytes 4096\n") != std::string::npos);
  CHECK(text.find("process_cpu_seconds_total 1.500\n") != std::string::npos);
  // Every sample line is `name{labels} value` with a name Prometheus accepts, and every family is typed once.
  const std::regex sampleLine(R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{quantile="[0-9.]+"\})? -?[0-9.]+$)");
  std::set<std::string> typed;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("# TYPE ")) {
      CHECK_MESSAGE(typed.insert(line.substr(7, line.find(' ', 7) - 7)).second, line);
    } else if (!line.starts_with("# HELP ")) {
      CHECK_MESSAGE(std::regex_match(line, sampleLine), line);
    }
  }
  CHECK(management::prometheusName("watcher.realtime.kernel_events") == "fimbeat_watcher_realtime_kernel_events");
}
