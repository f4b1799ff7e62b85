#pragma once
// MonitoringServer: Beats' HTTP monitoring endpoint (http.enabled, http.host, http.port) on a
// thread of its own, serving GET / (who), /stats (libbeat's shape, for Metricbeat's `beat`
// module), /state, /metrics (Prometheus) and /health (core::Health). Only GET and HEAD are
// answered; other methods get 405. It binds only where configured: a TCP address, or a unix
// socket (http.host: unix:///path, created with mode 0600).

#include <memory>
#include <string>
#include <thread>

#include "config/config.h"
#include "core/health.h"
#include "core/result.h"
#include "management/beat_stats.h"

namespace fim::management {

class MonitoringServer {
 public:
  // Binds and starts serving. A port in use, an address that cannot be bound or a path that is
  // not a stale socket is an error that names it and the setting.
  [[nodiscard]] static core::Result<std::unique_ptr<MonitoringServer>> start(const config::HttpConfig& config,
                                                                            const BeatStats& stats,
                                                                            const core::Health& health);
  ~MonitoringServer();  // stop()
  MonitoringServer(const MonitoringServer&) = delete;
  MonitoringServer& operator=(const MonitoringServer&) = delete;

  // Closes the listening socket (and removes a unix socket's file) and joins the thread. Idempotent.
  void stop();
  // Where it listens: "127.0.0.1:5066", "[::1]:5066" or the unix socket's path.
  const std::string& address() const { return address_; }

 private:
  class Listener;
  MonitoringServer(const BeatStats& stats, const core::Health& health);
  void route();
  [[nodiscard]] core::Status bind(const config::HttpConfig& config);

  const BeatStats& stats_;
  const core::Health& health_;
  std::unique_ptr<Listener> listener_;
  std::string address_;
  std::string socketPath_;
  std::jthread thread_;
};

}  // namespace fim::management
