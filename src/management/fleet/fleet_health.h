#pragma once
// Health in checkins (design §7.7): Elastic Agent's components and units built from core::Health,
// with unit ids that embed the policy's input ids (Kibana matches them to the integration).

#include <string>

#include "core/health.h"
#include "management/fleet/fleet_state.h"

namespace fim::management::fleet {

struct CheckinHealth {
  std::string status;      // online | degraded | error | starting (checkinRequest.status)
  std::string message;
  std::string components;  // JSON array
};

CheckinHealth checkinHealth(const core::Health& health, const FleetState& state);

}  // namespace fim::management::fleet
