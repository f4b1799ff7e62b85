#include "management/beat_stats.h"

#include <algorithm>
#include <map>

#include "management/process_sample.h"

namespace fim::management {
namespace {

using Values = std::map<std::string, std::int64_t, std::less<>>;

std::int64_t valueOf(const Values& values, std::string_view name) {
  auto it = values.find(name);
  return it == values.end() ? 0 : it->second;
}

void add(std::vector<Stat>& out, std::string name, std::int64_t value, StatKind kind) {
  out.push_back(Stat{std::move(name), core::DottedValue{value}, kind});
}

void addText(std::vector<Stat>& out, std::string name, std::string value) {
  out.push_back(Stat{std::move(name), core::DottedValue{std::move(value)}, StatKind::Text});
}

// beat.*: the process, as a Beat reports its own.
void beatSection(std::vector<Stat>& out, const BeatInfo& info) {
  const ProcessSample p = sampleProcess();
  const auto uptime = std::chrono::steady_clock::now() - info.started;
  add(out, "beat.info.uptime.ms", std::chrono::duration_cast<std::chrono::milliseconds>(uptime).count(), StatKind::Gauge);
  addText(out, "beat.info.ephemeral_id", info.ephemeralId);
  addText(out, "beat.info.version", info.version);
  add(out, "beat.memstats.rss", p.rssBytes, StatKind::Gauge);
  add(out, "beat.memstats.memory_alloc", p.heapInUseBytes, StatKind::Gauge);
  for (const auto& [part, ms] : {std::pair{"user", p.cpuUserMs}, {"system", p.cpuSystemMs},
                                 {"total", p.cpuUserMs + p.cpuSystemMs}}) {
    add(out, std::string("beat.cpu.") + part + ".ticks", ms, StatKind::Gauge);
    add(out, std::string("beat.cpu.") + part + ".time.ms", ms, StatKind::Gauge);
  }
  add(out, "beat.cpu.total.value", p.cpuUserMs + p.cpuSystemMs, StatKind::Gauge);
  add(out, "beat.handles.open", p.openFiles, StatKind::Gauge);
  add(out, "beat.handles.limit.soft", p.filesSoftLimit, StatKind::Gauge);
  add(out, "beat.handles.limit.hard", p.filesHardLimit, StatKind::Gauge);
}

// libbeat.output.*: fimbeat's output worker counts what libbeat's output observer counts.
void outputSection(std::vector<Stat>& out, const BeatInfo& info, const Values& v) {
  const std::int64_t acked = valueOf(v, "output.events.acked");
  const std::int64_t duplicates = valueOf(v, "output.events.duplicates");
  const std::int64_t dropped = valueOf(v, "output.events.dropped");
  const std::int64_t failed = valueOf(v, "output.events.failed");
  addText(out, "libbeat.output.type", info.outputType);
  add(out, "libbeat.output.events.total", acked + duplicates + dropped + failed, StatKind::Counter);
  add(out, "libbeat.output.events.acked", acked, StatKind::Counter);
  add(out, "libbeat.output.events.duplicates", duplicates, StatKind::Counter);
  add(out, "libbeat.output.events.dropped", dropped, StatKind::Counter);
  add(out, "libbeat.output.events.failed", failed, StatKind::Counter);
  add(out, "libbeat.output.events.toomany", valueOf(v, "output.events.toomany"), StatKind::Counter);
  add(out, "libbeat.output.events.batches", valueOf(v, "output.events.batches"), StatKind::Counter);
  add(out, "libbeat.output.events.active", valueOf(v, "output.events.active"), StatKind::Gauge);
  add(out, "libbeat.output.write.bytes", valueOf(v, "output.write.bytes"), StatKind::Counter);
  add(out, "libbeat.output.write.errors", valueOf(v, "output.write.errors"), StatKind::Counter);
}

// libbeat.pipeline.*: events enter when the baseline queues them durably (published at once),
// leave when the output acknowledges them; the durable queue is the pipeline's queue.
void pipelineSection(std::vector<Stat>& out, const BeatInfo& info, const Values& v) {
  const std::int64_t queued = valueOf(v, "baseline.changes") + valueOf(v, "baseline.deleted");
  const std::int64_t filtered = valueOf(v, "mapper.events.dropped");
  const std::int64_t invalid = valueOf(v, "mapper.events.invalid");
  add(out, "libbeat.pipeline.clients", valueOf(v, kModulesRunning), StatKind::Gauge);
  add(out, "libbeat.pipeline.events.total", queued, StatKind::Counter);
  add(out, "libbeat.pipeline.events.published", queued, StatKind::Counter);
  add(out, "libbeat.pipeline.events.filtered", filtered, StatKind::Counter);
  add(out, "libbeat.pipeline.events.failed", invalid, StatKind::Counter);
  add(out, "libbeat.pipeline.events.retry", valueOf(v, "output.events.retried"), StatKind::Counter);
  add(out, "libbeat.pipeline.events.active", valueOf(v, "queue.events"), StatKind::Gauge);
  const std::int64_t acked = valueOf(v, "output.events.acked") + valueOf(v, "output.events.duplicates") +
                             valueOf(v, "output.events.dropped") + filtered + invalid;
  add(out, "libbeat.pipeline.queue.acked", acked, StatKind::Counter);
  add(out, "libbeat.pipeline.queue.filled.events", valueOf(v, "queue.events"), StatKind::Gauge);
  add(out, "libbeat.pipeline.queue.filled.bytes", valueOf(v, "queue.bytes"), StatKind::Gauge);
  add(out, "libbeat.pipeline.queue.max_bytes", info.queueMaxBytes, StatKind::Gauge);
  add(out, "libbeat.config.module.running", valueOf(v, kModulesRunning), StatKind::Gauge);
}

// fimbeat.*: the whole registry; a histogram as its count and sum (counters), p50, p99, max.
void registrySection(std::vector<Stat>& out, const core::MetricSamples& samples) {
  for (const auto& [name, value] : samples.counters) add(out, "fimbeat." + name, value, StatKind::Counter);
  for (const auto& [name, value] : samples.gauges) add(out, "fimbeat." + name, value, StatKind::Gauge);
  for (const auto& [name, h] : samples.histograms) {
    add(out, "fimbeat." + name + ".count", static_cast<std::int64_t>(h.count), StatKind::Counter);
    add(out, "fimbeat." + name + ".sum", static_cast<std::int64_t>(h.sum), StatKind::Counter);
    add(out, "fimbeat." + name + ".p50", static_cast<std::int64_t>(h.p50), StatKind::Gauge);
    add(out, "fimbeat." + name + ".p99", static_cast<std::int64_t>(h.p99), StatKind::Gauge);
    add(out, "fimbeat." + name + ".max", static_cast<std::int64_t>(h.max), StatKind::Gauge);
  }
}

}  // namespace

std::int64_t BeatStats::modulesRunning() const {
  for (const auto& [name, value] : metrics_.samples().gauges) {
    if (name == kModulesRunning) return value;
  }
  return 0;
}

std::vector<Stat> BeatStats::collect() const {
  const core::MetricSamples samples = metrics_.samples();
  Values values(samples.counters.begin(), samples.counters.end());
  values.insert(samples.gauges.begin(), samples.gauges.end());
  std::vector<Stat> out;
  beatSection(out, info_);
  outputSection(out, info_, values);
  pipelineSection(out, info_, values);
  registrySection(out, samples);
  std::sort(out.begin(), out.end(), [](const Stat& a, const Stat& b) { return a.name < b.name; });
  return out;
}

std::string statsJson(const std::vector<Stat>& stats) {
  core::DottedEntries entries;
  entries.reserve(stats.size());
  for (const auto& stat : stats) entries.emplace_back(stat.name, stat.value);
  return core::nestDotted(entries);
}

std::vector<Stat> statsDelta(const std::vector<Stat>& previous, const std::vector<Stat>& current) {
  std::map<std::string_view, const core::DottedValue*> before;
  for (const auto& stat : previous) before.emplace(stat.name, &stat.value);
  std::vector<Stat> out;
  for (const auto& stat : current) {
    auto it = before.find(stat.name);
    const auto* now = std::get_if<std::int64_t>(&stat.value);
    const auto* then = it == before.end() ? nullptr : std::get_if<std::int64_t>(it->second);
    if (stat.kind == StatKind::Text) {
      out.push_back(stat);
    } else if (stat.kind == StatKind::Gauge) {
      if (now && (*now != 0 || (then && *then != *now))) out.push_back(stat);
    } else if (now && *now != (then ? *then : 0)) {
      out.push_back(Stat{stat.name, core::DottedValue{*now - (then ? *then : 0)}, stat.kind});
    }
  }
  return out;
}

}  // namespace fim::management
