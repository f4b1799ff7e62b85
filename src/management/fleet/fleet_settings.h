#pragma once
// The `fleet` section of a policy (design §4.1, §7.4 step 2; Kibana's generateFleetConfig):
// `hosts`, `proxy_url`, `proxy_headers` and `ssl.{certificate_authorities, certificate, key,
// verification_mode}` — how fimbeat reaches Fleet Server. A value the policy sets replaces the
// one given to `fimbeat enroll`, as in Elastic Agent; one it leaves out or empty keeps the enroll
// value, so taking a proxy out of the policy goes back to what `enroll` was told.
// `ssl.verification_mode` is validated but not applied (as in Elastic Agent).

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/output_config.h"
#include "core/result.h"
#include "management/fleet/fleet_state.h"
#include "management/fleet/fleet_transport.h"

namespace fim::management::fleet {

struct PolicyFleetSection {
  std::vector<std::string> hosts;
  std::string proxyUrl;
  std::map<std::string, std::string> proxyHeaders;
  std::vector<std::string> certificateAuthorities;  // inline PEM (Kibana) or files
  std::string certificate;
  std::string key;
  std::optional<config::SslVerificationMode> verificationMode;
};

// An error names the key and is the policy's rejection reason.
[[nodiscard]] core::Result<PolicyFleetSection> policyFleetSection(const std::string& policyJson);

// The enroll settings with the policy's over them.
TransportSettings effectiveSettings(const Enrollment& enrollment, const PolicyFleetSection& policy);
// ... with the running (last-good) policy's, if any.
TransportSettings effectiveSettings(const FleetState& state);

}  // namespace fim::management::fleet
