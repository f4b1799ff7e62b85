#pragma once
// ActionHandler: what Fleet's actions do (design §3, §7.3 rule 2, §7.4). A checkin's actions join
// the inbox unless their id is known (queued, done, or a policy already rejected); due actions run
// once each, and each result is saved with its ack in one write. FleetClient, the checkin loop,
// owns it; the two share the FleetState and meet only through this interface.

#include <functional>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/result.h"
#include "management/approval_format.h"
#include "management/control_protocol.h"
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
  // INPUT_ACTION for the fim input: an approval command (docs/approvals.md) carried out on the
  // running agent's approvals, as the control socket does; the approvals it concerns.
  [[nodiscard]] virtual core::Result<std::vector<Approval>> approvals(const ControlRequest& request) = 0;
};

class ActionHandler {
 public:
  // Whether Fleet Server answers with these settings (design §7.4 step 4); the error says why not.
  using Probe = std::function<core::Status(const TransportSettings&)>;
  // Persists the shared state (one atomic write).
  using Save = std::function<void()>;

  ActionHandler(FleetState& state, const config::FleetConfig& config, PolicyTarget& target, Probe probe, Save save)
      : state_(state), config_(config), target_(target), probe_(std::move(probe)), save_(std::move(save)) {}

  // Queues a checkin answer's new actions (the caller saves them with the ack_token). True when
  // one of them only re-delivered a rejected policy: the caller paces its checkins (decision 1).
  [[nodiscard]] bool receive(const std::vector<Action>& actions);
  // Runs the due actions of the inbox; true when one ran.
  bool executeDue();

 private:
  // The ack's error, "" on success; `response`: an INPUT_ACTION's action_response.
  std::string execute(const Action& action, bool& ack, std::string& response);
  std::string inputAction(const Action& action, std::string& response);
  std::string applyPolicy(const Action& action, bool& ack);
  // "" when the policy's fleet section can be used (switching to it if it changes anything).
  std::string checkFleetSection(const std::string& policyJson);

  FleetState& state_;
  const config::FleetConfig& config_;
  PolicyTarget& target_;
  Probe probe_;
  Save save_;
};

}  // namespace fim::management::fleet
