#pragma once
// FleetClient: the checkin loop of a fimbeat enrolled in Fleet (design §7.5): one long poll at a
// time; the ack_token and the actions it delivered persisted in one write before any runs; the
// actions handed to the ActionHandler; their acks sent from an outbox that survives restarts;
// equal-jitter backoff over several hosts, at least as long as a Retry-After; health in every
// checkin.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <random>
#include <stop_token>
#include <string>

#include "config/config.h"
#include "core/health.h"
#include "core/result.h"
#include "management/fleet/action_handler.h"
#include "management/fleet/fleet_messages.h"
#include "management/fleet/fleet_state.h"
#include "management/fleet/fleet_transport.h"

namespace fim::management::fleet {

class FleetClient {
 public:
  FleetClient(std::string dataDir, config::FleetConfig config, std::string version, FleetState state,
              PolicyTarget& target, core::Health& health);

  void run(std::stop_token stop);

 private:
  // `full`: with the components and local_metadata; without them when Fleet Server refused the
  // body (design §7.5: retried once without them).
  [[nodiscard]] core::Result<FleetResponse> checkin(std::stop_token stop, bool full = true);
  // Runs the due actions, then uses the Fleet Server settings of the policy they left running.
  bool executeActions();
  [[nodiscard]] core::Status probe(const TransportSettings& settings);
  // Sends the ack outbox; a batch that Fleet Server refuses whole (HTTP 400/413, e.g. over its
  // body limit) is split in halves, and an ack refused on its own is dropped (design §7.6).
  void flushAcks(std::stop_token stop);
  void save();
  // The wait after a failed checkin; updates the connectivity state.
  std::chrono::milliseconds onCheckinFailure(const core::Result<FleetResponse>& response);
  std::chrono::milliseconds backoff();
  // A request's timeout: `wanted`, but never more than fleet.timeout.
  std::chrono::nanoseconds timeout(std::chrono::nanoseconds wanted) const;
  void waitFor(std::chrono::milliseconds wait, std::stop_token stop);

  const std::string dataDir_;
  const config::FleetConfig config_;
  const std::string version_;
  FleetState state_;
  core::Health& health_;
  FleetTransport transport_;
  ActionHandler actions_;
  std::mt19937 random_{std::random_device{}()};
  int failures_ = 0;
  int unauthorized_ = 0;
  bool throttle_ = false;  // the last checkin only re-delivered a rejected policy
  std::atomic<bool> healthChanged_{false};  // the last poll was ended by a change of health
  std::chrono::steady_clock::time_point lastFastCheckin_{};
  std::mutex waitMutex_;
  std::condition_variable_any waitChanged_;
};

// "10m0s": a Go duration, as poll_timeout is sent.
std::string goDuration(std::chrono::nanoseconds d);

}  // namespace fim::management::fleet
