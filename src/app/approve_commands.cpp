// fimbeat approve: approved change windows (docs/approvals.md). The running agent takes them over
// its control socket; with no agent running the command records them itself, under the lock
// the agent holds for as long as it runs, so a start in between loses nothing.

#include <unistd.h>

#include <chrono>
#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "app/commands.h"
#include "core/clock.h"
#include "core/time_format.h"
#include "management/approval_store.h"
#include "management/control_protocol.h"

namespace fim::app {
namespace {

using namespace std::chrono_literals;
namespace mgmt = management;

constexpr auto kStartingAgentWait = 10s;  // an agent holding the lock opens its socket in this time

mgmt::ControlRequest requestOf(const CliOptions& options) {
  mgmt::ControlRequest request;
  if (options.approveList) {
    request.kind = mgmt::ControlRequest::Kind::List;
  } else if (!options.approveRevoke.empty()) {
    request.kind = mgmt::ControlRequest::Kind::Revoke;
    request.id = options.approveRevoke;
  } else {
    request.kind = mgmt::ControlRequest::Kind::Approve;
    request.paths = options.approvePaths;
    request.duration = options.approveFor;
    request.reason = options.approveReason;
  }
  return request;
}

// What the agent would have answered, done on the file directly (the lock is held).
core::Result<std::vector<mgmt::Approval>> applyOffline(const std::string& dataDir, const mgmt::ControlRequest& request) {
  core::SystemClock clock;
  auto store = mgmt::ApprovalStore::open(mgmt::approvalsFile(dataDir), clock);
  if (!store->problem().empty()) std::cerr << "warning: " << store->problem() << "\n";
  switch (request.kind) {
    case mgmt::ControlRequest::Kind::List: return store->list();
    case mgmt::ControlRequest::Kind::Approve: {
      auto added = store->add(request.paths, request.duration, request.reason);
      if (!added) return std::unexpected(added.error());
      return std::vector<mgmt::Approval>{*added};
    }
    case mgmt::ControlRequest::Kind::Revoke: {
      auto revoked = store->revoke(request.id);
      if (!revoked) return std::unexpected(revoked.error());
      return std::vector<mgmt::Approval>{*revoked};
    }
  }
  return core::fail(core::ErrorCode::Internal, "unknown approval request");
}

// The agent's answer, or the command's own when no agent runs; `offline` says which.
core::Result<std::vector<mgmt::Approval>> perform(const std::string& dataDir, const mgmt::ControlRequest& request,
                                                  bool& offline) {
  const std::string socket = mgmt::controlSocketPath(dataDir);
  const std::string line = mgmt::encodeRequest(request);
  const auto deadline = std::chrono::steady_clock::now() + kStartingAgentWait;
  while (true) {
    auto answer = mgmt::exchange(socket, line);
    if (answer) return mgmt::decodeAnswer(*answer);
    if (answer.error().code() != core::ErrorCode::Unavailable) return std::unexpected(answer.error());
    auto lock = mgmt::ApprovalLock::tryAcquire(dataDir);
    if (!lock) return std::unexpected(lock.error());
    if (*lock) {
      offline = true;
      return applyOffline(dataDir, request);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return core::failf(core::ErrorCode::Unavailable, "a fimbeat agent holds {}/approvals.lock but does not answer "
                         "on {}: see its log", dataDir, socket);
    }
    std::this_thread::sleep_for(100ms);  // an agent is starting: its socket opens next
  }
}

std::string pathsOf(const mgmt::Approval& approval) {
  std::string out;
  for (const auto& p : approval.paths) out += (out.empty() ? "" : " ") + p;
  return out;
}

}  // namespace

int approve(const CliOptions& options) {
  if (::geteuid() != 0) {
    std::cerr << "fimbeat approve must run as root: the agent's control socket and its approvals are root's\n";
    return 1;
  }
  CliOptions relaxed = options;
  relaxed.load.requireModules = false;
  auto loaded = loadConfig(relaxed);
  if (!loaded) {
    std::cerr << "Config is not valid:\n" << loaded.error().message() << "\n";
    return 1;
  }
  const std::string& dataDir = loaded->config.paths.data;
  const auto request = requestOf(options);
  bool offline = false;
  auto approvals = perform(dataDir, request, offline);
  if (!approvals) {
    std::cerr << "fimbeat approve: " << approvals.error().message() << "\n";
    return 1;
  }
  const char* where = offline ? " (no agent is running: it takes effect at its next start)" : "";
  switch (request.kind) {
    case mgmt::ControlRequest::Kind::Approve:
      for (const auto& a : *approvals) {
        std::cout << fmt::format("approved {} until {}: {} ({}){}\n", a.id, core::formatTimestamp(a.expires),
                                 pathsOf(a), a.reason, where);
      }
      break;
    case mgmt::ControlRequest::Kind::Revoke:
      for (const auto& a : *approvals) std::cout << fmt::format("revoked {}: {} ({}){}\n", a.id, pathsOf(a), a.reason, where);
      break;
    case mgmt::ControlRequest::Kind::List:
      if (approvals->empty()) {
        std::cout << "no current approvals\n";
        break;
      }
      std::cout << fmt::format("{:<8}  {:<24}  {:<24}  {}  {}\n", "ID", "CREATED", "EXPIRES", "REASON", "PATHS");
      for (const auto& a : *approvals) {
        std::cout << fmt::format("{:<8}  {:<24}  {:<24}  {}  {}\n", a.id, core::formatTimestamp(a.created),
                                 core::formatTimestamp(a.expires), a.reason, pathsOf(a));
      }
      break;
  }
  return 0;
}

}  // namespace fim::app
