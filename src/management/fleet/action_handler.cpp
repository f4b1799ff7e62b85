#include "management/fleet/action_handler.h"

#include <time.h>

#include <algorithm>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <simdjson.h>

#include "core/logging.h"
#include "core/time_format.h"
#include "management/approval_command.h"
#include "management/fleet/fleet_settings.h"

namespace fim::management::fleet {
namespace {

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

}  // namespace

bool ActionHandler::receive(const std::vector<Action>& actions) {
  bool rejectedAgain = false;
  for (const auto& action : actions) {
    if (std::find(state_.done.begin(), state_.done.end(), action.id) != state_.done.end()) continue;
    bool queued = false;
    for (const auto& json : state_.inbox) queued = queued || parseAction(json).value_or(Action{}).id == action.id;
    if (queued) continue;
    if (action.type == "POLICY_CHANGE" && state_.last && state_.last->status == "rejected" &&
        action.id == fmt::format("policy:{}:{}", state_.last->id, state_.last->revision)) {
      rejectedAgain = true;  // a known-rejected policy again: not re-applied (decision 1)
      continue;
    }
    state_.inbox.push_back(action.json);
  }
  return rejectedAgain;
}

bool ActionHandler::executeDue() {
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
        save_();
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
    AckEvent event;
    event.actionId = due->id;
    event.type = due->type;
    if (due->type == "INPUT_ACTION") {
      event.inputType = due->inputType;
      event.actionData = due->data;
      event.startedAt = nowIso();
    }
    const auto expiration = parseTime(due->expiration);
    if (expiration && *expiration <= now) {
      event.error = "the action expired before it could start";
    } else {
      event.error = execute(*due, ack, event.actionResponse);
    }
    event.timestamp = nowIso();
    if (due->type == "INPUT_ACTION") {
      event.completedAt = event.timestamp;
      if (!event.error.empty()) event.actionResponse = encodeError(event.error);
    }
    if (ack) {
      state_.done.push_back(due->id);
      state_.outbox.push_back(std::move(event));
    }
    save_();  // the result, its ack and (for a policy) policy/good in one write (rule 2)
    ran = true;
  }
}

std::string ActionHandler::execute(const Action& action, bool& ack, std::string& response) {
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
  if (action.type == "INPUT_ACTION") return inputAction(action, response);
  if (action.type == "UPGRADE") return "fimbeat does not self-upgrade: upgrade it with the system's package manager";
  return fmt::format("fimbeat does not support {} actions", action.type);
}

std::string ActionHandler::inputAction(const Action& action, std::string& response) {
  if (action.inputType != kFimInputType) {
    return fmt::format("fimbeat runs no \"{}\" input: it takes INPUT_ACTION for {} (approvals) only",
                       action.inputType, kFimInputType);
  }
  auto request = decodeFleetCommand(action.data);
  if (!request) return request.error().message();
  auto approvals = target_.approvals(*request);
  if (!approvals) return approvals.error().message();
  response = encodeFleetAnswer(request->kind, *approvals);
  return {};
}

std::string ActionHandler::checkFleetSection(const std::string& policyJson) {
  auto section = policyFleetSection(policyJson);
  if (!section) return section.error().message();
  const auto wanted = effectiveSettings(state_.enrollment, *section);
  if (wanted == effectiveSettings(state_)) return {};
  // Any HTTP answer, 429 and 503 included, proves Fleet Server reachable (elastic/elastic-agent#15557).
  if (auto answered = probe_(wanted); !answered) {
    return fmt::format("none of the policy's Fleet Server hosts ({}) answers{}: {}", fmt::join(wanted.hosts, ", "),
                       wanted.proxyUrl.empty() ? "" : " through its proxy", answered.error().message());
  }
  return {};
}

std::string ActionHandler::applyPolicy(const Action& action, bool& ack) {
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
  save_();  // a crash from here on counts as a failed attempt (design §7.3 rule 4)
  std::string error;
  if (policyJson.empty()) {
    error = "the POLICY_CHANGE action carries no policy";
  } else if (error = checkFleetSection(policyJson); error.empty()) {
    if (auto applied = target_.apply(policyJson); !applied) error = applied.error().message();
  }
  if (!error.empty()) {
    state_.last->status = "rejected";
    state_.last->error = error;
    log.error("policy {} rev {} rejected: {}; running rev {}", record.id, record.revision, error,
              state_.good ? std::to_string(state_.good->revision) : std::string("none"));
    ack = false;  // the running revision stays the reported one (decision 1)
    return error;
  }
  state_.last->status = "applied";
  const auto before = effectiveSettings(state_);
  state_.good = record;
  const auto hosts = policyFleetSection(policyJson).value_or(PolicyFleetSection{}).hosts;
  if (!hosts.empty() && hosts != state_.enrollment.hosts) state_.enrollment.hosts = hosts;
  if (const auto after = effectiveSettings(state_); after != before) {
    // The proxy URL may carry a password: only whether one is used is logged.
    log.info("Fleet Server from policy {} rev {} on: {}{}{}", record.id, record.revision, fmt::join(after.hosts, ", "),
             after.proxyUrl.empty() ? "" : ", through a proxy",
             after.certificate.empty() ? "" : ", with a client certificate");
  }
  log.info("policy {} rev {} applied", record.id, record.revision);
  return {};
}

}  // namespace fim::management::fleet
