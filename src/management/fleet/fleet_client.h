#pragma once
// FleetClient: the checkin loop of a fimbeat enrolled in Fleet (design §7.5): one long poll at a
// time; the ack_token and the actions it delivered persisted in one write before any runs;
// actions executed once each (deduplicated by id), their acks kept in an outbox that survives
// restarts; equal-jitter backoff over several hosts; health in every checkin.

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
#include "management/fleet/fleet_messages.h"
#include "management/fleet/fleet_state.h"
#include "management/fleet/fleet_transport.h"

namespace fim::management::fleet {

// What the application does for Fleet's actions (implemented in app/, which owns the stages).
class PolicyTarget {
 public:
  virtual ~PolicyTarget() = default;
  // Translates and validates the policy, then swaps the stages; returns once the new stages run.
  // An error is the rejection reason; the stages that ran before keep running.
  [[nodiscard]] virtual core::Status apply(const std::string& policyJson) = 0;
  virtual void stopInputs() = 0;                              // UNENROLL
  virtual void setLogLevel(const std::string& level) = 0;     // SETTINGS; "" = the config's
};

class FleetClient {
 public:
  FleetClient(std::string dataDir, config::FleetConfig config, std::string version, FleetState state,
              PolicyTarget& target, core::Health& health);

  void run(std::stop_token stop);

 private:
  [[nodiscard]] core::Result<FleetResponse> checkin(std::stop_token stop);
  // Runs the due actions of the inbox; true when one ran.
  bool executeInbox();
  std::string execute(const Action& action, bool& ack);  // the ack's error, "" on success
  std::string applyPolicy(const Action& action, bool& ack);
  bool anyReachable(const std::vector<std::string>& hosts);
  void flushAcks(std::stop_token stop);
  void save();
  // The wait after a failed checkin; updates the connectivity state.
  std::chrono::milliseconds onCheckinFailure(const core::Result<FleetResponse>& response);
  std::chrono::milliseconds backoff();
  void waitFor(std::chrono::milliseconds wait, std::stop_token stop);

  const std::string dataDir_;
  const config::FleetConfig config_;
  const std::string version_;
  FleetState state_;
  PolicyTarget& target_;
  core::Health& health_;
  FleetTransport transport_;
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
