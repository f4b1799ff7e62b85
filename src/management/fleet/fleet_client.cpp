#include "management/fleet/fleet_client.h"

#include <algorithm>
#include <thread>

#include <fmt/format.h>

#include "core/logging.h"
#include "core/time_format.h"
#include "management/fleet/backoff.h"
#include "management/fleet/fleet_health.h"
#include "management/fleet/fleet_settings.h"

namespace fim::management::fleet {
namespace {

using namespace std::chrono_literals;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

// A request Fleet Server refused for its body: 413, or a 400 that is not about the User-Agent
// version (fleet-server answers an over-size body with 400 BadRequest, design §1.4).
bool bodyRefused(const FleetResponse& r) {
  return r.status == 413 ||
         (r.status == 400 && r.errorName != "InvalidUserAgent" && r.errorName != "UnsupportedVersion");
}

}  // namespace

std::string goDuration(std::chrono::nanoseconds d) {
  const auto total = duration_cast<std::chrono::seconds>(d).count();
  if (total >= 60) return fmt::format("{}m{}s", total / 60, total % 60);
  return fmt::format("{}s", total);
}

FleetClient::FleetClient(std::string dataDir, config::FleetConfig config, std::string version, FleetState state,
                         PolicyTarget& target, core::Health& health)
    : dataDir_(std::move(dataDir)),
      config_(std::move(config)),
      version_(std::move(version)),
      state_(std::move(state)),
      health_(health),
      transport_(effectiveSettings(state_), config_.agentVersion.empty() ? kDefaultAgentVersion : config_.agentVersion),
      actions_(state_, config_, target, [this](const TransportSettings& s) { return probe(s); }, [this] { save(); }) {}

void FleetClient::save() {
  if (auto saved = saveState(dataDir_, state_); !saved) {
    core::logger("fleet").error("cannot persist the Fleet state: {}", saved.error().message());
  }
}

void FleetClient::waitFor(milliseconds wait, std::stop_token stop) {
  std::unique_lock lock(waitMutex_);
  waitChanged_.wait_for(lock, stop, wait, [] { return false; });
}

std::chrono::nanoseconds FleetClient::timeout(std::chrono::nanoseconds wanted) const {
  return config_.timeout > std::chrono::nanoseconds::zero() ? std::min(wanted, config_.timeout) : wanted;
}

milliseconds FleetClient::backoff() {
  return equalJitter(duration_cast<milliseconds>(config_.backoffInit), duration_cast<milliseconds>(config_.backoffMax),
                     failures_, random_);
}

core::Status FleetClient::probe(const TransportSettings& settings) {
  FleetTransport probe(settings, transport_.agentVersion());
  auto answer = probe.send("GET", "/api/status", "", state_.enrollment.accessApiKey, timeout(15s));
  if (!answer) return std::unexpected(answer.error());
  return {};
}

core::Result<FleetResponse> FleetClient::checkin(std::stop_token stop, bool full) {
  const auto health = checkinHealth(health_, state_);
  CheckinRequest request;
  request.status = health.status;
  request.message = health.message;
  request.ackToken = state_.ackToken;
  if (full) {
    request.localMetadata = localMetadataJson(state_.enrollment.agentId, transport_.agentVersion(), state_.logLevel);
    request.components = health.components;
  }
  if (state_.good) {
    request.policyId = state_.good->id;
    request.revision = state_.good->revision;
  }
  request.pollTimeout = goDuration(config_.pollTimeout);
  const auto path = "/api/fleet/agents/" + state_.enrollment.agentId + "/checkin";
  // A change of health ends the open poll so that Fleet hears of it now, at most once per
  // fleet.checkin.min_interval (design §7.5); a stop ends it too.
  std::stop_source poll;
  std::stop_callback forward(stop, [&poll] { poll.request_stop(); });
  healthChanged_ = false;
  const auto generation = health_.generation();
  const auto earliest = lastFastCheckin_ + config_.minInterval;
  std::jthread watch([&, generation, earliest](std::stop_token done) {
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    while (!done.stop_requested()) {
      cv.wait_for(lock, done, 200ms, [] { return false; });
      if (health_.generation() != generation && std::chrono::steady_clock::now() >= earliest) {
        healthChanged_ = true;
        poll.request_stop();
        return;
      }
    }
  });
  // Client timeout: the poll plus a minute (the server answers by poll_timeout - 1m at the latest),
  // or fleet.timeout.
  auto response = transport_.send("POST", path, checkinBody(request), state_.enrollment.accessApiKey,
                                  timeout(config_.pollTimeout + std::chrono::minutes(1)), config_.gzip, poll.get_token());
  watch.request_stop();
  watch.join();
  if (healthChanged_ && !response) lastFastCheckin_ = std::chrono::steady_clock::now();
  return response;
}

milliseconds FleetClient::onCheckinFailure(const core::Result<FleetResponse>& response) {
  auto& log = core::logger("fleet");
  auto& c = state_.connectivity;
  ++failures_;
  c.failures = failures_;
  if (!response) {
    c.state = "backoff";
    c.lastError = response.error().message();
  } else {
    const auto& r = *response;
    c.lastError = fmt::format("HTTP {}{}: {}", r.status, r.errorName.empty() ? "" : " " + r.errorName, r.message);
    if (r.status == 401) {
      ++unauthorized_;
      c.state = "unauthorized";
      if (unauthorized_ >= config_.unauthorizedLimit) {
        c.state = "revoked";
        log.error("Fleet refused this agent's key {} times ({}): it was revoked or unenrolled in Fleet. fimbeat keeps "
                  "watching and queueing locally; it checks in every {} s; run `fimbeat enroll --force` to enroll again",
                  unauthorized_, r.errorName, duration_cast<std::chrono::seconds>(config_.revokedInterval).count());
        health_.set("fleet", "revoked", core::HealthState::Degraded, "the Fleet agent key was revoked");
        return duration_cast<milliseconds>(config_.revokedInterval);
      }
    } else if (r.status == 403 && r.errorName == "ErrAgentIdentity") {
      c.state = "identity_mismatch";
      log.error("Fleet Server says this agent's key belongs to another agent ({}): the enrollment kept on this host "
                "is corrupt. fimbeat keeps watching and queueing locally; it checks in every {} s; run `fimbeat enroll "
                "--force` to enroll again", r.errorName, duration_cast<std::chrono::seconds>(config_.revokedInterval).count());
      health_.set("fleet", "revoked", core::HealthState::Degraded, "the Fleet agent key belongs to another agent");
      return duration_cast<milliseconds>(config_.revokedInterval);
    } else if (r.status == 404 || r.status == 403) {
      c.state = "revoked";
      log.error("Fleet does not know this agent any more ({} {}); fimbeat keeps watching and queueing locally; it "
                "checks in every {} s; run `fimbeat enroll --force` to enroll again",
                r.status, r.errorName, duration_cast<std::chrono::seconds>(config_.revokedInterval).count());
      health_.set("fleet", "revoked", core::HealthState::Degraded, "the agent was deleted from Fleet");
      return duration_cast<milliseconds>(config_.revokedInterval);
    } else if (r.status == 400 && (r.errorName == "InvalidUserAgent" || r.errorName == "UnsupportedVersion")) {
      c.state = "outdated_client";
      log.error("Fleet Server refused the User-Agent version {} ({}): set fleet.agent_version to a version not above "
                "the server's", transport_.agentVersion(), r.errorName);
      return duration_cast<milliseconds>(config_.backoffMax);
    } else {
      c.state = "backoff";
    }
  }
  auto wait = backoff();
  if (response && response->retryAfter) {
    // A proxy's or a load balancer's Retry-After is honoured, up to fleet.backoff.max (design §7.6).
    wait = std::max(wait, std::min(*response->retryAfter, duration_cast<milliseconds>(config_.backoffMax)));
  }
  log.warn("checkin failed ({}); next try in {} ms", c.lastError, wait.count());
  return wait;
}

bool FleetClient::executeActions() {
  const bool ran = actions_.executeDue();
  if (auto wanted = effectiveSettings(state_); wanted != transport_.settings()) transport_.configure(std::move(wanted));
  return ran;
}

void FleetClient::run(std::stop_token stop) {
  auto& log = core::logger("fleet");
  if (config_.agentVersion.empty()) {
    const auto version = transport_.serverVersion(state_.enrollment.accessApiKey, stop);
    if (!version.empty()) transport_.setAgentVersion(version);
  }
  log.info("managed by Fleet as agent {} (User-Agent version {})", state_.enrollment.agentId, transport_.agentVersion());
  if (state_.enrollment.insecure) {
    log.warn("Fleet Server's TLS certificate is not verified (enrolled with --insecure): enroll again without it");
  }
  if (executeActions()) save();
  flushAcks(stop);
  while (!stop.stop_requested()) {
    if (state_.lifecycle == Lifecycle::Unenrolled) {
      log.info("unenrolled from Fleet: no more checkins");
      return;
    }
    auto response = checkin(stop);
    if (stop.stop_requested()) break;
    if (!response && healthChanged_) {
      log.debug("health changed: checking in again at once");
      continue;
    }
    if (response && bodyRefused(*response)) {
      log.warn("Fleet Server refused the checkin body (HTTP {} {}: {}): checking in again without the components "
               "and local_metadata", response->status, response->errorName, response->message);
      response = checkin(stop, false);
      if (stop.stop_requested()) break;
    }
    core::Result<CheckinResult> parsed = core::fail(core::ErrorCode::Unavailable, "");
    if (response && response->status == 200) parsed = parseCheckinResponse(response->body);
    if (response && response->status == 200 && !parsed) {  // unreadable: the ack_token stays as it was
      response = core::fail(core::ErrorCode::Parse, "unreadable checkin answer: " + parsed.error().message(), true);
    }
    if (!response || response->status != 200) {
      const auto wait = onCheckinFailure(response);
      save();
      waitFor(wait, stop);
      continue;
    }
    if (state_.connectivity.state == "revoked" || state_.connectivity.state == "identity_mismatch") {
      health_.clear("fleet", "revoked");
    }
    failures_ = unauthorized_ = 0;
    state_.connectivity = {"connected", "", core::formatTimestamp(std::chrono::system_clock::now()), 0};
    throttle_ = actions_.receive(parsed->actions);
    if (!parsed->ackToken.empty()) state_.ackToken = parsed->ackToken;
    save();  // the ack_token with the actions it delivered, before any runs (design §7.3 rule 1)
    const bool ran = executeActions();  // the new actions, and scheduled ones now due
    flushAcks(stop);
    std::uniform_int_distribution<int> jitter(0, 500);
    const auto wait = ran ? 0ms : throttle_ ? duration_cast<milliseconds>(config_.minInterval) : 1000ms + milliseconds(jitter(random_));
    waitFor(wait, stop);
  }
}

void FleetClient::flushAcks(std::stop_token stop) {
  if (state_.outbox.empty()) return;
  auto& log = core::logger("fleet");
  const auto path = "/api/fleet/agents/" + state_.enrollment.agentId + "/acks";
  const auto& outbox = state_.outbox;
  std::vector<AckEvent> kept;
  bool unenrollAcked = false;
  std::size_t next = 0;
  std::size_t batch = outbox.size();
  while (next < outbox.size()) {
    const auto first = outbox.begin() + static_cast<std::ptrdiff_t>(next);
    const std::vector<AckEvent> events(first, first + static_cast<std::ptrdiff_t>(std::min(batch, outbox.size() - next)));
    auto response = transport_.send("POST", path, ackBody(state_.enrollment.agentId, events),
                                    state_.enrollment.accessApiKey, timeout(60s), false, stop);
    if (!response) {
      log.warn("acks not sent ({} pending): {}", outbox.size() - next, response.error().message());
      break;
    }
    auto statuses = parseAckResponse(response->body);
    if (!statuses && bodyRefused(*response)) {
      if (events.size() > 1) {
        batch = (events.size() + 1) / 2;
        log.warn("Fleet Server refused a batch of {} acks (HTTP {} {}): sending them {} at a time", events.size(),
                 response->status, response->errorName, batch);
      } else {
        log.error("Fleet Server refused the ack of action {} on its own (HTTP {} {}: {}): dropped",
                  events.front().actionId, response->status, response->errorName, response->message);
        ++next;
      }
      continue;
    }
    if (!statuses || statuses->size() != events.size()) {
      log.warn("acks not accepted ({} pending): HTTP {} {}", outbox.size() - next, response->status, response->errorName);
      break;
    }
    for (std::size_t i = 0; i < events.size(); ++i) {
      const int status = (*statuses)[i];
      if (status >= 200 && status < 300) {
        unenrollAcked = unenrollAcked || events[i].type == "UNENROLL";
      } else if (status == 400 || status == 404) {
        log.warn("Fleet Server refused the ack of action {} ({}): dropped", events[i].actionId, status);
      } else {
        kept.push_back(events[i]);
      }
    }
    next += events.size();
  }
  kept.insert(kept.end(), outbox.begin() + static_cast<std::ptrdiff_t>(next), outbox.end());
  state_.outbox = std::move(kept);
  if (unenrollAcked) {
    state_.lifecycle = Lifecycle::Unenrolled;
    state_.enrollment.accessApiKey.clear();  // revoked by Fleet Server on this ack
  }
  save();
}

}  // namespace fim::management::fleet
