#pragma once
// Monitoring: what reports on the running agent rather than on files, started by `fimbeat run`
// beside the Agent: the HTTP endpoint (http.*, when enabled) and the metrics log lines
// (logging.metrics.*, when enabled). Both read the same BeatStats and core::Health.

#include <memory>

#include "config/config.h"
#include "core/health.h"
#include "core/metrics.h"
#include "core/result.h"
#include "management/beat_stats.h"
#include "management/metrics_reporter.h"
#include "management/monitoring_server.h"

namespace fim::management {

class Monitoring {
 public:
  // Binds the endpoint (a port in use is an error) and starts the periodic metrics lines.
  [[nodiscard]] static core::Result<std::unique_ptr<Monitoring>> start(const config::Config& config, BeatInfo info,
                                                                       const core::Metrics& metrics,
                                                                       const core::Health& health);
  // Closes the endpoint and logs the "Total metrics" line. Idempotent.
  void stop();
  // Where the endpoint listens; "" when http.enabled is false.
  std::string address() const { return server_ ? server_->address() : std::string(); }

 private:
  Monitoring(BeatInfo info, const core::Metrics& metrics) : stats_(std::move(info), metrics) {}

  BeatStats stats_;
  std::unique_ptr<MonitoringServer> server_;
  std::unique_ptr<MetricsReporter> reporter_;
};

// The BeatInfo of a configuration; the caller fills in the identity (uuid, ephemeral id, names).
BeatInfo beatInfoOf(const config::Config& config);

}  // namespace fim::management
