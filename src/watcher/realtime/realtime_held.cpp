// Live observations whose package verdict cannot be given yet (a dpkg or rpm transaction runs): held in
// order, with the later changes of modules that verify packages, and released once it ends.

#include "watcher/package/package_manager.h"
#include "watcher/realtime/realtime_loop.h"

namespace fim::watcher {
namespace {

events::PathSeen* seenOf(events::Observation& observation) {
  if (auto* seen = std::get_if<events::PathSeen>(&observation)) return seen;
  if (auto* moved = std::get_if<events::PathMoved>(&observation)) return &moved->now;
  return nullptr;
}

}  // namespace

void RealtimeWatcher::Loop::deliver(events::Observation&& observation) {
  events::PathSeen* seen = seenOf(observation);
  // Behind a held observation wait the later ones of modules that verify packages (they may
  // concern the same paths); other modules' changes are not held up.
  const auto verifying = [&] {
    const auto* deleted = std::get_if<events::PathDeleted>(&observation);
    const std::size_t root = seen ? seen->root : deleted ? deleted->root : 0;
    return root < w_.roots_.size() && shared_.modules[w_.roots_[root].module].verifyPackages;
  };
  if ((seen && seen->packageDeferred) || (!held_.empty() && verifying())) {
    if (held_.empty()) {
      core::logger("watcher").info("{} transaction is running: package verdicts, and the changes after them, "
                                   "wait until it ends",
                                   shared_.packages && shared_.packages->format() == PackageFormat::Rpm ? "an rpm" : "a dpkg");
    }
    held_.push_back(std::move(observation));
    return;
  }
  if (seen && seen->package && seen->process && isPackageManager(*seen->process)) seen->package->byPackageManager = true;
  push(std::move(observation));
}

// The path read again for its verdict, keeping who changed it and when. False: still deferred.
bool RealtimeWatcher::Loop::readAgain(events::PathSeen& seen) {
  auto fresh = look(seen.info.path);
  if (!fresh) {  // gone since, or excluded: its deletion is reported; the stale state carries no verdict
    seen.packageDeferred = false;
    seen.package.reset();
    seen.info.type = events::FileType::Unknown;
    return true;
  }
  if (fresh->packageDeferred) return false;
  fresh->process = std::move(seen.process);
  fresh->detected = seen.detected;
  seen = std::move(*fresh);
  return true;
}

void RealtimeWatcher::Loop::releaseHeld() {
  if (held_.empty() || (shared_.packages && shared_.packages->transactionRunning())) return;
  while (!held_.empty()) {
    events::Observation& observation = held_.front();
    events::PathSeen* seen = seenOf(observation);
    if (seen && seen->packageDeferred && !readAgain(*seen)) return;  // another transaction began
    if (auto* plain = std::get_if<events::PathSeen>(&observation); plain && plain->info.type == events::FileType::Unknown) {
      held_.pop_front();  // vanished before its verdict: the deletion that follows reports it
      continue;
    }
    if (seen && seen->package && seen->process && isPackageManager(*seen->process)) seen->package->byPackageManager = true;
    push(std::move(observation));
    held_.pop_front();
  }
}

}  // namespace fim::watcher
