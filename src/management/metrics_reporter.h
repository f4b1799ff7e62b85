#pragma once
// MetricsReporter: Beats' metrics log lines (logging.metrics). Every period it logs "Non-zero
// metrics in the last <period>" with a structured `monitoring.metrics` object of what changed
// (BeatStats, statsDelta), and at stop "Total metrics" with every figure; both carry
// `monitoring.health`, the agent's health (core::Health) at that moment.

#include <condition_variable>
#include <mutex>
#include <thread>

#include "config/units.h"
#include "core/health.h"
#include "management/beat_stats.h"

namespace fim::management {

class MetricsReporter {
 public:
  // `period` zero: no periodic line, only the totals at stop (Beats skips the periodic logging too).
  MetricsReporter(const BeatStats& stats, const core::Health& health, config::Duration period)
      : stats_(stats), health_(health), period_(period) {}
  ~MetricsReporter();  // stops without logging the totals when stop() was not called
  MetricsReporter(const MetricsReporter&) = delete;
  MetricsReporter& operator=(const MetricsReporter&) = delete;

  void start();
  // Stops the periodic lines and logs "Total metrics". Idempotent.
  void stop();

 private:
  void run(std::stop_token stop);
  void logLine(std::string_view message, const std::vector<Stat>& stats) const;

  const BeatStats& stats_;
  const core::Health& health_;
  config::Duration period_;
  std::mutex mutex_;
  std::condition_variable_any wake_;
  std::jthread thread_;
  bool stopped_ = false;
};

}  // namespace fim::management
