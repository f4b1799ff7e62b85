#include "management/fleet/fleet_client.h"

#include <time.h>

#include <algorithm>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <simdjson.h>

#include "core/logging.h"
#include "core/time_format.h"
#include "management/fleet/fleet_health.h"

namespace fim::management::fleet {
namespace {

using namespace std::chrono_literals;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

// RFC 3339 → time point (seconds precision; what start_time and expiration need).
std::optional<std::chrono::system_clock::time_point> parseTime(const std::string& text) {
  if (text.size() < 19) return std::nullopt;
  std::tm tm{};
  if (!::strptime(text.substr(0, 19).c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return std::nullopt;
  auto t = std::chrono::system_clock::from_time_t(::timegm(&tm));
  const auto zone = text.find_first_of("+-", 19);
  if (zone != std::string::npos && text.size() >= zone + 6) {
    const int sign = text[zone] == '-' ? -1 : 1;
    const int hours = std::stoi(text.substr(zone + 1, 2)), minutes = std::stoi(text.substr(zone + 4, 2));
    t -= sign * (std::chrono::hours(hours) + std::chrono::minutes(minutes));
  }
  return t;
}

std::string nowIso() { return core::formatTimestamp(std::chrono::system_clock::now()); }

// The policy's fleet.hosts ([] when absent).
std::vector<std::string> fleetHosts(const std::string& policyJson) {
  std::vector<std::string> out;
  simdjson::dom::parser parser;
  simdjson::dom::array hosts;
  if (parser.parse(policyJson).at_pointer("/fleet/hosts").get(hosts) != simdjson::SUCCESS) return out;
  for (auto h : hosts) {
    std::string_view v;
    if (h.get(v) == simdjson::SUCCESS) out.emplace_back(v);
  }
  return out;
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
      target_(target),
      health_(health),
      transport_(state_.enrollment, config_.agentVersion.empty() ? kDefaultAgentVersion : config_.agentVersion) {}

void FleetClient::save() {
  if (auto saved = saveState(dataDir_, state_); !saved) {
    core::logger("fleet").error("cannot persist the Fleet state: {}", saved.error().message());
  }
}

void FleetClient::waitFor(milliseconds wait, std::stop_token stop) {
  std::unique_lock lock(waitMutex_);
  waitChanged_.wait_for(lock, stop, wait, [] { return false; });
}

milliseconds FleetClient::backoff() {
  // Equal jitter (ea:pkg/backoff/equal_jitter.go): half the step fixed, half random.
  const auto init = duration_cast<milliseconds>(config_.backoffInit);
  const auto max = duration_cast<milliseconds>(config_.backoffMax);
  auto step = init;
  for (int i = 1; i < failures_ && step < max; ++i) step *= 2;
  step = std::min(step, max);
  std::uniform_int_distribution<long> jitter(0, std::max<long>(0, step.count() / 2));
  return milliseconds(step.count() / 2 + jitter(random_));
}

core::Result<FleetResponse> FleetClient::checkin(std::stop_token stop) {
  const auto health = checkinHealth(health_, state_);
  CheckinRequest request;
  request.status = health.status;
  request.message = health.message;
  request.ackToken = state_.ackToken;
  request.localMetadata = localMetadataJson(state_.enrollment.agentId, transport_.agentVersion(), state_.logLevel);
  request.components = health.components;
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
  // Client timeout: the poll plus a minute (the server answers by poll_timeout - 1m at the latest).
  auto response = transport_.send("POST", path, checkinBody(request), state_.enrollment.accessApiKey,
                                  config_.pollTimeout + std::chrono::minutes(1), config_.gzip, poll.get_token());
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
    c.lastError = fmt::format("HTTP {} {}: {}", r.status, r.errorName, r.message);
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
  const auto wait = backoff();
  log.warn("checkin failed ({}); next try in {} ms", c.lastError, wait.count());
  return wait;
}

void FleetClient::run(std::stop_token stop) {
  auto& log = core::logger("fleet");
  if (config_.agentVersion.empty()) {
    const auto version = transport_.serverVersion(state_.enrollment.accessApiKey, stop);
    if (!version.empty()) transport_.setAgentVersion(version);
  }
  log.info("managed by Fleet as agent {} (User-Agent version {})", state_.enrollment.agentId, transport_.agentVersion());
  if (executeInbox()) save();
  flushAcks(stop);
  while (!stop.stop_requested()) {
    if (state_.lifecycle == Lifecycle::Unenrolled) {
      log.info("unenrolled from Fleet: no more checkins");
      return;
    }
    auto response = checkin(stop);
    if (stop.stop_requested()) break;
    if (!response && healthChanged_) {
      core::logger("fleet").debug("health changed: checking in again at once");
      continue;
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
    if (state_.connectivity.state == "revoked") health_.clear("fleet", "revoked");
    failures_ = unauthorized_ = 0;
    state_.connectivity = {"connected", "", nowIso(), 0};
    throttle_ = false;
    for (auto& action : parsed->actions) {
      if (std::find(state_.done.begin(), state_.done.end(), action.id) != state_.done.end()) continue;
      bool queued = false;
      for (const auto& json : state_.inbox) queued = queued || parseAction(json).value_or(Action{}).id == action.id;
      if (queued) continue;
      if (action.type == "POLICY_CHANGE" && state_.last && state_.last->status == "rejected" &&
          action.id == fmt::format("policy:{}:{}", state_.last->id, state_.last->revision)) {
        throttle_ = true;  // a known-rejected policy again: not re-applied (decision 1)
        continue;
      }
      state_.inbox.push_back(action.json);
    }
    if (!parsed->ackToken.empty()) state_.ackToken = parsed->ackToken;
    save();  // the ack_token with the actions it delivered, before any runs (design §7.3 rule 1)
    const bool ran = executeInbox();  // the new actions, and scheduled ones now due
    flushAcks(stop);
    std::uniform_int_distribution<int> jitter(0, 500);
    const auto wait = ran ? 0ms : throttle_ ? duration_cast<milliseconds>(config_.minInterval) : 1000ms + milliseconds(jitter(random_));
    waitFor(wait, stop);
  }
}

bool FleetClient::executeInbox() {
  bool ran = false;
  const auto now = std::chrono::system_clock::now();
  // The first due action each time round: one may remove others (CANCEL).
  for (;;) {
    std::optional<Action> due;
    for (std::size_t i = 0; i < state_.inbox.size() && !due; ++i) {
      auto action = parseAction(state_.inbox[i]);
      if (!action) {
        core::logger("fleet").error("dropping an unreadable action: {}", action.error().message());
        state_.inbox.erase(state_.inbox.begin() + static_cast<std::ptrdiff_t>(i));
        save();
        break;
      }
      const auto start = parseTime(action->startTime);
      if (start && *start > now) continue;  // scheduled: runs at a later checkin
      state_.inbox.erase(state_.inbox.begin() + static_cast<std::ptrdiff_t>(i));
      due = std::move(*action);
    }
    if (!due) {
      bool pendingUnreadable = false;
      for (const auto& json : state_.inbox) pendingUnreadable = pendingUnreadable || !parseAction(json);
      if (!pendingUnreadable) return ran;
      continue;
    }
    bool ack = true;
    std::string error;
    const auto expiration = parseTime(due->expiration);
    if (expiration && *expiration <= now) {
      error = "the action expired before it could start";
    } else {
      error = execute(*due, ack);
    }
    if (ack) {
      state_.done.push_back(due->id);
      state_.outbox.push_back({due->id, due->type, nowIso(), error});
    }
    save();  // the result, its ack and (for a policy) policy/good in one write (rule 2)
    ran = true;
  }
}

std::string FleetClient::execute(const Action& action, bool& ack) {
  auto& log = core::logger("fleet");
  log.info("action {} of type {} received", action.id, action.type);
  if (action.type == "POLICY_CHANGE") return applyPolicy(action, ack);
  if (action.type == "SETTINGS") {
    const std::string level = jsonString(action.data, "/log_level");
    target_.setLogLevel(level);
    state_.logLevel = level;
    return {};
  }
  if (action.type == "UNENROLL") {
    target_.stopInputs();
    state_.unenrollReason = "UNENROLL action " + action.id;
    log.warn("unenrolled by Fleet: inputs stopped; the queue and the baseline stay on disk");
    return {};
  }
  if (action.type == "POLICY_REASSIGN") {
    log.info("reassigned to policy {}; its POLICY_CHANGE follows", jsonString(action.data, "/policy_id"));
    return {};
  }
  if (action.type == "CANCEL") {
    const std::string target = jsonString(action.data, "/target_id");
    for (auto it = state_.inbox.begin(); it != state_.inbox.end(); ++it) {
      if (parseAction(*it).value_or(Action{}).id == target) {
        state_.inbox.erase(it);
        state_.done.push_back(target);
        return {};
      }
    }
    return "no scheduled action " + target + " to cancel";
  }
  if (action.type == "UPGRADE") return "fimbeat does not self-upgrade: upgrade it with the system's package manager";
  return fmt::format("fimbeat does not support {} actions", action.type);
}

bool FleetClient::anyReachable(const std::vector<std::string>& hosts) {
  // Any HTTP answer, 429 and 503 included, proves a host reachable (elastic/elastic-agent#15557).
  for (const auto& host : hosts) {
    Enrollment one = state_.enrollment;
    one.hosts = {host};
    FleetTransport probe(one, transport_.agentVersion());
    if (probe.send("GET", "/api/status", "", state_.enrollment.accessApiKey, std::chrono::seconds(15))) return true;
  }
  return false;
}

std::string FleetClient::applyPolicy(const Action& action, bool& ack) {
  auto& log = core::logger("fleet");
  simdjson::dom::parser parser;
  const std::string policyJson = [&] {
    simdjson::dom::element policy;
    return parser.parse(action.data)["policy"].get(policy) == simdjson::SUCCESS ? simdjson::minify(policy) : std::string();
  }();
  PolicyRecord record;
  record.id = jsonString(policyJson, "/id");
  simdjson::dom::element root;
  int64_t revision = 0;
  if (parser.parse(policyJson).get(root) == simdjson::SUCCESS) {
    if (root["revision"].get(revision) != simdjson::SUCCESS) revision = 0;
  }
  record.revision = revision;
  record.sha256 = sha256Hex(policyJson);
  record.json = policyJson;
  if (state_.good && state_.good->id == record.id && state_.good->revision == record.revision &&
      state_.good->sha256 == record.sha256) {
    return {};  // already running (design §7.4 step 1)
  }
  const bool sameAsLast = state_.last && state_.last->id == record.id && state_.last->revision == record.revision &&
                          state_.last->sha256 == record.sha256;
  if (sameAsLast && state_.last->status == "applying" && state_.last->attempts >= config_.applyAttempts) {
    state_.last->status = "rejected";
    state_.last->error = fmt::format("fimbeat stopped {} times while applying it", state_.last->attempts);
    log.error("policy {} rev {} rejected: {}; running rev {}", record.id, record.revision, state_.last->error,
              state_.good ? state_.good->revision : 0);
    ack = false;
    return state_.last->error;
  }
  PolicyRecord last{record.id, record.revision, record.sha256, "", "applying", "",
                    sameAsLast && state_.last->status == "applying" ? state_.last->attempts + 1 : 1};
  state_.last = last;
  save();  // a crash from here on counts as a failed attempt (design §7.3 rule 4)
  const auto hosts = fleetHosts(policyJson);
  if (policyJson.empty()) {
    state_.last->status = "rejected";
    state_.last->error = "the POLICY_CHANGE action carries no policy";
  } else if (!hosts.empty() && hosts != state_.enrollment.hosts && !anyReachable(hosts)) {
    state_.last->status = "rejected";
    state_.last->error = fmt::format("none of the policy's Fleet Server hosts ({}) answers", fmt::join(hosts, ", "));
  } else if (auto applied = target_.apply(policyJson); !applied) {
    state_.last->status = "rejected";
    state_.last->error = applied.error().message();
  }
  if (state_.last->status == "rejected") {
    log.error("policy {} rev {} rejected: {}; running rev {}", record.id, record.revision, state_.last->error,
              state_.good ? std::to_string(state_.good->revision) : std::string("none"));
    ack = false;  // the running revision stays the reported one (decision 1)
    return state_.last->error;
  }
  state_.last->status = "applied";
  state_.good = record;
  if (!hosts.empty() && hosts != state_.enrollment.hosts) {
    log.info("Fleet Server hosts from the policy: {}", fmt::join(hosts, ", "));
    state_.enrollment.hosts = hosts;
    transport_.setHosts(state_.enrollment);
  }
  log.info("policy {} rev {} applied", record.id, record.revision);
  return {};
}

void FleetClient::flushAcks(std::stop_token stop) {
  if (state_.outbox.empty()) return;
  auto& log = core::logger("fleet");
  const auto path = "/api/fleet/agents/" + state_.enrollment.agentId + "/acks";
  auto response = transport_.send("POST", path, ackBody(state_.enrollment.agentId, state_.outbox),
                                  state_.enrollment.accessApiKey, std::chrono::seconds(60), false, stop);
  if (!response) {
    log.warn("acks not sent ({} pending): {}", state_.outbox.size(), response.error().message());
    return;
  }
  auto statuses = parseAckResponse(response->body);
  if (!statuses || statuses->size() != state_.outbox.size()) {
    log.warn("acks not accepted ({} pending): HTTP {} {}", state_.outbox.size(), response->status, response->errorName);
    return;
  }
  std::vector<AckEvent> kept;
  bool unenrollAcked = false;
  for (std::size_t i = 0; i < statuses->size(); ++i) {
    const int status = (*statuses)[i];
    const auto& event = state_.outbox[i];
    if (status >= 200 && status < 300) {
      unenrollAcked = unenrollAcked || event.type == "UNENROLL";
    } else if (status == 400 || status == 404) {
      log.warn("Fleet Server refused the ack of action {} ({}): dropped", event.actionId, status);
    } else {
      kept.push_back(event);
    }
  }
  state_.outbox = std::move(kept);
  if (unenrollAcked) {
    state_.lifecycle = Lifecycle::Unenrolled;
    state_.enrollment.accessApiKey.clear();  // revoked by Fleet Server on this ack
  }
  save();
}

}  // namespace fim::management::fleet
