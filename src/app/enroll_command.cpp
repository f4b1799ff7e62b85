// fimbeat enroll (docs/fleet.md): one agent in Fleet, however often it is retried or interrupted.
// The intent (agent id = meta.json's, a replace_token) is saved before the first request, so a
// retry or a rerun after a crash replaces the agent Fleet Server may already have made instead of
// adding a second one (design decision 8).

#include <iostream>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "app/commands.h"
#include "core/clock.h"
#include "enricher/agent_id.h"
#include "management/fleet/backoff.h"
#include "management/fleet/fleet_messages.h"
#include "management/fleet/fleet_state.h"
#include "management/fleet/fleet_transport.h"

namespace fim::app {
namespace {

namespace fleet = management::fleet;
using namespace std::chrono_literals;

constexpr int kEnrollAttempts = 10;

std::string agentVersionFor(fleet::FleetTransport& transport, const config::FleetConfig& config, const std::string& token) {
  if (!config.agentVersion.empty()) return config.agentVersion;
  const auto version = transport.serverVersion(token);
  return version.empty() ? fleet::kDefaultAgentVersion : version;
}

// The state saved before the first request: what `enroll` was given, the agent id, and the
// replace_token of an earlier enrollment (kept, so that it can replace that agent).
fleet::FleetState enrollmentIntent(const CliOptions& options, const std::string& agentId,
                                   const std::optional<fleet::FleetState>& previous) {
  fleet::FleetState state;
  state.lifecycle = fleet::Lifecycle::Enrolling;
  auto& e = state.enrollment;
  e.hosts = options.fleetUrls;
  e.certificateAuthorities = options.certificateAuthorities;
  e.insecure = options.insecure;
  e.proxyUrl = options.proxyUrl;
  e.tags = options.tags;
  e.agentId = agentId;
  e.replaceToken = previous && !previous->enrollment.replaceToken.empty() ? previous->enrollment.replaceToken
                                                                           : fleet::randomToken(24);
  e.tokenFingerprint = fleet::sha256Hex(options.enrollmentToken).substr(0, 16);
  return state;
}

// What one enroll request came to.
struct Attempt {
  enum Kind { Enrolled, Retry, Refused } kind;
  std::string problem;                  // Retry: why; Refused: what to tell the user
  std::chrono::nanoseconds retryAfter{};  // Retry: a proxy's Retry-After
};

Attempt judge(const core::Result<fleet::FleetResponse>& response, fleet::Enrollment& e) {
  if (!response) return {Attempt::Retry, response.error().message()};
  const auto& r = *response;
  if (r.status == 200) {
    auto result = fleet::parseEnrollResponse(r.body);
    if (!result) return {Attempt::Retry, result.error().message()};
    e.agentId = result->agentId;
    e.accessApiKeyId = result->accessApiKeyId;
    e.accessApiKey = result->accessApiKey;
    e.policyId = result->policyId;
    e.enrolledAt = result->enrolledAt;
    return {Attempt::Enrolled};
  }
  if (r.status == 401) {
    return {Attempt::Refused, fmt::format("Fleet Server refused the enrollment token ({}: {}): check "
                                          "--enrollment-token in Kibana under Fleet → Enrollment tokens",
                                          r.errorName, r.message)};
  }
  if (r.status == 403) {
    return {Attempt::Refused,
            fmt::format("Fleet Server refused to enroll agent {} ({}: {}): an active agent with this id exists and this "
                        "fimbeat's replace token or the token's policy does not match; unenroll that agent in Kibana, "
                        "then enroll again", e.agentId, r.errorName, r.message)};
  }
  if (r.status == 429 || r.status == 408 || r.status >= 500) {
    return {Attempt::Retry, fmt::format("HTTP {} {}", r.status, r.errorName), r.retryAfter.value_or(0ms)};
  }
  return {Attempt::Refused,
          fmt::format("Fleet Server refused the enrollment: HTTP {} {}: {}", r.status, r.errorName, r.message)};
}

}  // namespace

int enroll(const CliOptions& options) {
  auto loaded = loadConfigWithoutModules(options);
  if (!loaded) {
    std::cerr << "Config is not valid:\n" << loaded.error().message() << "\n";
    return 1;
  }
  const auto& config = loaded->config;
  const std::string dataDir = config.paths.data;
  if (options.fleetUrls.empty() || options.enrollmentToken.empty()) {
    std::cerr << "fimbeat enroll needs --url URL and --enrollment-token TOKEN (from Kibana: Fleet → Enrollment tokens)\n";
    return 1;
  }
  fleet::StateLock lock(dataDir);
  if (!lock.held()) {
    std::cerr << "another fimbeat process uses " << fleet::stateDirectory(dataDir) << ": stop it first\n";
    return 1;
  }
  auto existing = fleet::loadState(dataDir);
  if (!existing && !options.force) {
    std::cerr << existing.error().message() << "\n";
    return 1;
  }
  std::optional<fleet::FleetState> previous = existing ? *existing : std::nullopt;
  if (previous && previous->lifecycle == fleet::Lifecycle::Enrolled && !options.force) {
    std::cerr << "fimbeat is already enrolled as agent " << previous->enrollment.agentId << " (policy "
              << previous->enrollment.policyId << "); `fimbeat enroll --force ...` enrolls it again\n";
    return 1;
  }
  core::SystemClock clock;
  auto identity = enricher::loadOrCreateAgentId(dataDir, clock);
  if (!identity) {
    std::cerr << "cannot read the agent id: " << identity.error().message() << "\n";
    return 1;
  }
  if (options.insecure) {
    std::cerr << "warning: --insecure: Fleet Server's TLS certificate is not verified, now or by `fimbeat run`\n";
  }
  fleet::FleetState state = enrollmentIntent(options, identity->id, previous);
  auto& e = state.enrollment;
  if (auto saved = fleet::saveState(dataDir, state); !saved) {
    std::cerr << saved.error().message() << "\n";
    return 1;
  }
  fleet::FleetTransport transport(e, fleet::kDefaultAgentVersion);
  transport.setAgentVersion(agentVersionFor(transport, config.fleet, options.enrollmentToken));
  const auto body = fleet::enrollBody(e, fleet::localMetadataJson(e.agentId, transport.agentVersion(), ""));
  // Equal jitter from at most 5 s: a fleet of hosts enrolled by one script does not retry in step.
  const auto firstStep = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::min<std::chrono::nanoseconds>(config.fleet.backoffInit, 5s));
  const auto maxStep = std::chrono::duration_cast<std::chrono::milliseconds>(config.fleet.backoffMax);
  std::mt19937 random{std::random_device{}()};
  const auto requestTimeout = config.fleet.timeout > 0s ? std::min<std::chrono::nanoseconds>(60s, config.fleet.timeout)
                                                        : std::chrono::nanoseconds(60s);
  for (int attempt = 1; attempt <= kEnrollAttempts; ++attempt) {
    const auto outcome =
        judge(transport.send("POST", "/api/fleet/agents/enroll", body, options.enrollmentToken, requestTimeout), e);
    if (outcome.kind == Attempt::Enrolled) {
      state.lifecycle = fleet::Lifecycle::Enrolled;  // a fresh identity: no actions, acks or policy of an old one
      if (auto saved = fleet::saveState(dataDir, state); !saved) {
        std::cerr << "enrolled, but the state could not be saved: " << saved.error().message() << "\n";
        return 1;
      }
      std::cout << "Successfully enrolled fimbeat in Fleet as agent " << e.agentId << " (policy " << e.policyId
                << "). Start it with `fimbeat run` (or restart the fimbeat service).\n";
      return 0;
    }
    if (outcome.kind == Attempt::Refused) {
      std::cerr << outcome.problem << "\n";
      // Nothing was enrolled: the state is what it was before this command.
      if (previous && previous->lifecycle != fleet::Lifecycle::Enrolling) {
        (void)fleet::saveState(dataDir, *previous);
      } else {
        (void)fleet::removeState(dataDir);
      }
      return 1;
    }
    if (attempt == kEnrollAttempts) {
      std::cerr << "enrollment failed after " << attempt << " attempts (" << outcome.problem << "); it stays pending "
                << "with the same agent id: run the same command again\n";
      return 1;
    }
    const auto retryAfter = std::min<std::chrono::nanoseconds>(outcome.retryAfter, config.fleet.backoffMax);
    const auto pause =
        std::max<std::chrono::nanoseconds>(fleet::equalJitter(firstStep, maxStep, attempt, random), retryAfter);
    std::cerr << "enrollment attempt " << attempt << " failed (" << outcome.problem << "); retrying in "
              << std::chrono::duration_cast<std::chrono::milliseconds>(pause).count() << " ms\n";
    std::this_thread::sleep_for(pause);
  }
  return 1;
}

}  // namespace fim::app
