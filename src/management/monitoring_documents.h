#pragma once
// The JSON bodies of the monitoring endpoint's GET /, /state and /health, in the shapes Beats
// (/ and /state, read by Metricbeat's `beat` module) and Elastic Agent (unit states) use.
// None of them holds a setting's value beyond names, so none can reveal a secret.

#include <string>

#include "core/health.h"
#include "management/beat_stats.h"

namespace fim::management {

// GET /: {"beat","ephemeral_id","hostname","name","uuid","version"}.
std::string infoDocument(const BeatInfo& info);

// GET /state: beat.name, host, management, module, output.name, queue.name, service.
std::string stateDocument(const BeatInfo& info, std::int64_t modulesRunning);

struct HealthDocument {
  int status = 200;  // 200, or 503 when the agent is not healthy enough
  std::string body;  // {"status":"DEGRADED","message":"...","units":{"output":{"status":...,"message":...}}}
};

// HEALTHY and STARTING answer 200; FAILED 503; DEGRADED 503 unless `failOnlyWhenFailed` (for a
// liveness probe that must not restart an agent that is only retrying its output).
HealthDocument healthDocument(const core::Health& health, bool failOnlyWhenFailed);

}  // namespace fim::management
