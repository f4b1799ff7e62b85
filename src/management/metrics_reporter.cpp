#include "management/metrics_reporter.h"

#include <chrono>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/logging.h"

namespace fim::management {

MetricsReporter::~MetricsReporter() {
  thread_.request_stop();
  wake_.notify_all();
}

void MetricsReporter::start() {
  auto& log = core::logger("monitoring");
  if (period_ <= config::Duration::zero()) {
    log.info("Skipping metrics logging");
    return;
  }
  log.info("Starting metrics logging every {}", config::formatDuration(period_));
  thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

void MetricsReporter::run(std::stop_token stop) {
  std::vector<Stat> previous = stats_.collect();
  const std::string message = "Non-zero metrics in the last " + config::formatDuration(period_);
  auto next = std::chrono::steady_clock::now() + period_;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      if (wake_.wait_until(lock, stop, next, [] { return false; }) || stop.stop_requested()) return;
    }
    next += period_;
    std::vector<Stat> current = stats_.collect();
    logLine(message, statsDelta(previous, current));
    previous = std::move(current);
  }
}

void MetricsReporter::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (thread_.joinable()) {
    thread_.request_stop();
    wake_.notify_all();
    thread_.join();
    core::logger("monitoring").info("Stopping metrics logging.");
  }
  logLine("Total metrics", stats_.collect());
  const auto uptime = std::chrono::steady_clock::now() - stats_.info().started;
  core::logger("monitoring").info("Uptime: {}",
                                  config::formatDuration(std::chrono::duration_cast<std::chrono::milliseconds>(uptime)));
}

void MetricsReporter::logLine(std::string_view message, const std::vector<Stat>& stats) const {
  const std::string metrics = statsJson(stats);
  const core::HealthReport health = health_.overall();
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("metrics");
  w.RawValue(metrics.data(), metrics.size(), rapidjson::kObjectType);
  w.Key("health");
  w.StartObject();
  w.Key("status");
  w.String(core::toString(health.state));
  w.Key("message");
  w.String(health.message.c_str(), static_cast<rapidjson::SizeType>(health.message.size()));
  w.EndObject();
  w.EndObject();
  core::logWithObject(core::logger("monitoring"), spdlog::level::info, message, "monitoring",
                      std::string_view(buffer.GetString(), buffer.GetSize()));
}

}  // namespace fim::management
