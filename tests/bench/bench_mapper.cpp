// bench_mapper: how long enrich + map take per event (issue "ECS": enrich + map + encode ≤ 2 µs
// per event on one core). Runs 1,000,000 representative events (an updated file with sha1 +
// sha256, the previous values, full agent/host metadata, three tags) through Enricher::enrich and
// DocumentBuilder::map (JSON + _id) and prints a table, then the parts on their own and the
// checked path (document + schema walk, what processors get) for comparison. Single-threaded;
// CPU time is the number to read on a shared machine.

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "config/config.h"
#include "core/event.h"
#include "core/metrics.h"
#include "enricher/enricher.h"
#include "mapper/document_builder.h"
#include "mapper/document_encoder.h"
#include "mapper/event_id.h"

#include <rapidjson/writer.h>

using namespace fim;

namespace {

std::size_t kEvents = 1'000'000;  // argv[1] overrides, for profiling
constexpr std::size_t kDistinct = 1024;  // distinct events cycled through, so caches see varied data

std::shared_ptr<const core::Metadata> metadata() {
  auto m = std::make_shared<core::Metadata>();
  m->agent = {.id = "7e061f66-bf86-41e2-858d-d5cbe22e06b1", .ephemeralId = "5c919e9b-3b1f-4426-b93f-f5705bac73f9",
              .name = "web-42.example.internal", .type = "fimbeat", .version = "0.1.0"};
  m->host.hostname = "web-42";
  m->host.name = "web-42.example.internal";
  m->host.id = "b0d7e1c4a5f84c1e9d2f3a6b7c8d9e0f";
  m->host.architecture = "x86_64";
  m->host.os = {.type = "linux", .platform = "debian", .name = "Debian GNU/Linux", .version = "12 (bookworm)",
                .family = "debian", .kernel = "6.1.0-18-amd64", .codename = "bookworm"};
  m->host.ip = {"10.1.2.42", "fe80::42:acff:fe12:7"};
  m->host.mac = {"02-42-AC-12-00-07"};
  m->host.containerized = false;
  return m;
}

std::vector<core::EnrichedEvent> events(const std::shared_ptr<const core::Metadata>& meta) {
  std::vector<core::EnrichedEvent> out;
  out.reserve(kDistinct);
  for (std::size_t i = 0; i < kDistinct; ++i) {
    core::EnrichedEvent e;
    e.event.timestamp = core::TimePoint(std::chrono::milliseconds(1650445339365 + static_cast<std::int64_t>(i)));
    e.event.actions = {core::Action::Updated};
    auto& f = e.event.file;
    f.path = fmt::format("/var/www/app/releases/2024-05-{:02}/public/assets/bundle-{:04}.js", i % 28 + 1, i);
    f.type = core::FileType::File;
    f.size = 48213 + i;
    f.inode = 1839201 + i;
    f.uid = 33;
    f.gid = 33;
    f.owner = "www-data";
    f.group = "www-data";
    f.mode = 0644;
    f.mtime = e.event.timestamp;
    f.ctime = e.event.timestamp;
    f.mimeType = "text/javascript";
    f.hashes[core::HashType::Sha1] = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
    f.hashes[core::HashType::Sha256] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    e.event.previous = f;
    e.event.previous->size = 47000;
    e.event.previous->mtime = core::TimePoint(std::chrono::milliseconds(1650440000000));
    e.event.previous->hashes[core::HashType::Sha1] = "0a4d55a8d778e5022fab701977c5d840bbc486d0";
    e.event.previous->hashes[core::HashType::Sha256] = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
    e.event.changedAttributes = {"size", "mtime", "hash.sha1", "hash.sha256"};
    e.event.sequence = i + 1;
    e.metadata = meta;
    e.tags = {"fim", "production", "web"};
    out.push_back(std::move(e));
  }
  return out;
}

struct Row {
  std::string what;
  double seconds;     // wall clock
  double cpuSeconds;  // this thread's CPU time: what the stage costs when other work shares the cores
  std::size_t bytes;
};

double threadCpuSeconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Like measure(), but `prepare(first, count)` runs untimed before each batch of `count` events.
template <typename Prepare, typename Body>
Row measureBatched(std::string what, Prepare prepare, Body body) {
  Row row{std::move(what), 0, 0, 0};
  for (std::size_t first = 0; first < kEvents; first += kDistinct) {
    const std::size_t count = std::min(kDistinct, kEvents - first);
    prepare(first, count);
    const auto start = std::chrono::steady_clock::now();
    const double cpuStart = threadCpuSeconds();
    for (std::size_t i = 0; i < count; ++i) row.bytes += body(i);
    row.cpuSeconds += threadCpuSeconds() - cpuStart;
    row.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return row;
}

template <typename Body>
Row measure(std::string what, Body body) {
  const auto start = std::chrono::steady_clock::now();
  const double cpuStart = threadCpuSeconds();
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < kEvents; ++i) bytes += body(i);
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  return Row{std::move(what), took.count(), threadCpuSeconds() - cpuStart, bytes};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) kEvents = std::stoul(argv[1]);
  const bool onlyTotal = argc > 2 && std::string(argv[2]) == "total";  // for profiling the number
  config::Config config;
  config.modules.emplace_back();
  config.modules.back().tags = {"fim", "production", "web"};
  core::Metrics metrics;
  enricher::Enricher enricher(config, metrics, *metadata());  // not started: enrich() needs no thread
  const auto input = events(enricher.metadata());
  mapper::DocumentBuilder builder(config, metrics);
  if (!builder.direct()) std::fprintf(stderr, "bench_mapper: the direct path is off; measuring the checked path\n");
  const std::string sample = builder.build(input[0]);

  for (std::size_t i = 0; i < 10'000; ++i) (void)builder.map(input[i % kDistinct]);  // warm up
  std::vector<Row> rows;
  std::vector<core::FileEvent> raw(kDistinct);
  std::vector<core::EnrichedEvent> enriched;
  enriched.reserve(kDistinct);
  std::shared_ptr<const core::Metadata> snapshot;
  const auto freshEvents = [&](std::size_t, std::size_t count) {  // as the enricher's queue hands them over;
    enriched.clear();  // the last batch's events are freed here, untimed
    for (std::size_t i = 0; i < count; ++i) raw[i] = input[i].event;
    snapshot = enricher.metadata();  // once per batch, as Enricher::run does
  };
  rows.push_back(measureBatched("enrich + map + _id (total)", freshEvents, [&](std::size_t i) {
    enriched.push_back(enricher.enrich(std::move(raw[i]), snapshot));  // as Enricher::run batches them
    const auto encoded = builder.map(enriched.back());
    return encoded->json.size();
  }));
  if (!onlyTotal) {
    rows.push_back(measureBatched("  enrich", freshEvents, [&](std::size_t i) {
      enriched.push_back(enricher.enrich(std::move(raw[i]), snapshot));
      return enriched.back().tags.size();
    }));
    rows.push_back(measure("  map: direct JSON + _id", [&](std::size_t i) {
      const auto encoded = builder.map(input[i % kDistinct]);
      return encoded->json.size();
    }));
    rows.push_back(measure("  (checked path: document + schema walk)", [&](std::size_t i) {
      return builder.buildChecked(input[i % kDistinct]).size();
    }));
  }
  if (onlyTotal) {
    std::printf("enrich + map + _id: %.0f CPU ns/event\n", rows[0].cpuSeconds * 1e9 / kEvents);
    return 0;
  }

  std::unique_ptr<char[]> buffer(new char[32 * 1024]);
  rapidjson::MemoryPoolAllocator<> pool(buffer.get(), 32 * 1024);
  rows.push_back(measure("    build the rapidjson document", [&](std::size_t i) {
    pool.Clear();
    rapidjson::Document doc(&pool);
    builder.buildDocument(input[i % kDistinct], doc);
    return static_cast<std::size_t>(doc.MemberCount());
  }));

  pool.Clear();
  rapidjson::Document built(&pool);
  builder.buildDocument(input[0], built);
  mapper::DocumentEncoder encoder(mapper::builtinSchema(), metrics);
  rapidjson::StringBuffer json;
  rows.push_back(measure("    encode against the schema", [&](std::size_t) {
    encoder.encode(built, false, json);
    return json.GetSize();
  }));

  rows.push_back(measure("    (reference: rapidjson Accept only)", [&](std::size_t) {
    json.Clear();
    rapidjson::Writer<rapidjson::StringBuffer> plain(json);
    built.Accept(plain);
    return json.GetSize();
  }));

  mapper::EventIdHasher ids;
  rows.push_back(measure("  _id (SHA-256, base64url)", [&](std::size_t i) { return ids.id(input[i % kDistinct]).size(); }));

  if (sample != builder.buildChecked(input[0])) {
    std::fprintf(stderr, "bench_mapper: the direct and the checked path disagree\n");
    return 1;
  }
  std::printf("bench_mapper: %zu events (%zu distinct), one thread, document of %zu bytes\n\n", kEvents, kDistinct,
              sample.size());
  std::printf("| %-40s | %9s | %12s | %13s | %12s |\n", "stage", "ns/event", "events/s", "CPU ns/event",
              "CPU events/s");
  std::printf("|%s|%s|%s|%s|%s|\n", std::string(42, '-').c_str(), std::string(11, '-').c_str(),
              std::string(14, '-').c_str(), std::string(15, '-').c_str(), std::string(14, '-').c_str());
  for (const auto& r : rows) {
    std::printf("| %-40s | %9.0f | %12.0f | %13.0f | %12.0f |\n", r.what.c_str(), r.seconds * 1e9 / kEvents,
                kEvents / r.seconds, r.cpuSeconds * 1e9 / kEvents, kEvents / r.cpuSeconds);
  }
  std::printf("\nns/event: wall clock; CPU ns/event: the thread's CPU time (less sensitive to other load).\n");
  std::printf("\nundeclared fields: %lld, invalid values: %lld (both must be 0)\n",
              static_cast<long long>(metrics.counter("mapper.fields.undeclared").value()),
              static_cast<long long>(metrics.counter("mapper.fields.invalid").value()));
  return metrics.counter("mapper.fields.undeclared").value() == 0 && metrics.counter("mapper.fields.invalid").value() == 0 ? 0 : 1;
}
