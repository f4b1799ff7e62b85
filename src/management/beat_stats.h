#pragma once
// BeatStats: what the monitoring endpoint and the metrics log lines report, in libbeat's names
// (the fields Metricbeat's `beat` module reads from /stats: beat.*, libbeat.output.*,
// libbeat.pipeline.*, libbeat.config.module.*), plus fimbeat's own registry under fimbeat.*.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/dotted_json.h"
#include "core/metrics.h"

namespace fim::management {

// Who this agent is: GET / and the constant parts of /stats and /state.
struct BeatInfo {
  std::string beat = "fimbeat";
  std::string name;         // `name:`, else the host name
  std::string hostname;
  std::string uuid;         // agent.id, kept in <path.data>/meta.json
  std::string ephemeralId;  // agent.ephemeral_id, new each run
  std::string version;
  std::string architecture;  // uname -m
  std::string outputType;    // elasticsearch, file, console
  bool managed = false;              // run by a Fleet policy: /state's management.enabled
  std::int64_t queueMaxBytes = 0;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

// A counter is reported as its change between two log lines, a gauge as its value, a text always.
enum class StatKind { Counter, Gauge, Text };

struct Stat {
  std::string name;  // dotted: "libbeat.output.events.acked"
  core::DottedValue value;
  StatKind kind;
};

// The gauge the running Agent keeps of its enabled modules (a Fleet policy changes it).
inline constexpr const char* kModulesRunning = "agent.modules.running";

class BeatStats {
 public:
  BeatStats(BeatInfo info, const core::Metrics& metrics) : info_(std::move(info)), metrics_(metrics) {}

  const BeatInfo& info() const { return info_; }
  const core::Metrics& metrics() const { return metrics_; }
  // The modules the Agent runs now (kModulesRunning).
  std::int64_t modulesRunning() const;
  // Every figure of GET /stats now, sorted by name.
  std::vector<Stat> collect() const;

 private:
  BeatInfo info_;
  const core::Metrics& metrics_;
};

// The stats as one nested JSON object (GET /stats, the "Total metrics" line).
std::string statsJson(const std::vector<Stat>& stats);

// What Beats' log reporter writes every period: each counter's change since `previous` when not
// zero, each gauge that is not zero or changed, and the texts.
std::vector<Stat> statsDelta(const std::vector<Stat>& previous, const std::vector<Stat>& current);

}  // namespace fim::management
