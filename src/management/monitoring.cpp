#include "management/monitoring.h"

#include <sys/utsname.h>

namespace fim::management {

core::Result<std::unique_ptr<Monitoring>> Monitoring::start(const config::Config& config, BeatInfo info,
                                                           const core::Metrics& metrics, const core::Health& health) {
  auto monitoring = std::unique_ptr<Monitoring>(new Monitoring(std::move(info), metrics));
  if (config.http.enabled) {
    auto server = MonitoringServer::start(config.http, monitoring->stats_, health);
    if (!server) return std::unexpected(server.error());
    monitoring->server_ = std::move(*server);
  }
  if (config.logging.metricsEnabled) {
    monitoring->reporter_ = std::make_unique<MetricsReporter>(monitoring->stats_, health, config.logging.metricsPeriod);
    monitoring->reporter_->start();
  }
  return monitoring;
}

void Monitoring::stop() {
  if (server_) server_->stop();
  if (reporter_) reporter_->stop();
}

BeatInfo beatInfoOf(const config::Config& config) {
  BeatInfo info;
  switch (config.output.kind) {
    case config::OutputKind::Elasticsearch: info.outputType = "elasticsearch"; break;
    case config::OutputKind::File: info.outputType = "file"; break;
    case config::OutputKind::Console: info.outputType = "console"; break;
  }
  info.queueMaxBytes = static_cast<std::int64_t>(config.queue.maxSize);
  if (utsname names{}; ::uname(&names) == 0) info.architecture = names.machine;
  return info;
}

}  // namespace fim::management
