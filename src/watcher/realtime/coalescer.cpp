#include "watcher/realtime/coalescer.h"

#include <algorithm>

#include "core/paths.h"

namespace fim::watcher {

void Coalescer::schedule(const std::string& path, Write& write, TimePoint due) {
  write.due = due;
  schedule_.emplace(due, path);
}

void Coalescer::settleNow(const std::string& path, bool isDirectory, std::vector<Settled>& out,
                          std::optional<events::ProcessInfo> process) {
  writes_.erase(path);
  out.push_back(Settled{Settled::Kind::Observe, path, {}, isDirectory, std::move(process)});
}

// Forgets pending writes of path (and, withChildren, under it); those under it move into `keep`.
void Coalescer::dropWrites(const std::string& path, bool withChildren, MoveFrom* keep) {
  writes_.erase(path);
  if (!withChildren) return;
  const std::string prefix = path == "/" ? "/" : path + "/";
  auto it = writes_.lower_bound(prefix);
  while (it != writes_.end() && it->first.starts_with(prefix)) {
    if (keep) keep->children.emplace(it->first.substr(path.size()), std::move(it->second));
    it = writes_.erase(it);
  }
}

void Coalescer::expireMove(std::uint32_t cookie, std::vector<Settled>& out) {
  auto it = moves_.find(cookie);
  if (it == moves_.end()) return;
  ++unpaired_;
  out.push_back(Settled{Settled::Kind::Delete, it->second.path, {}, it->second.isDirectory, it->second.process});
  moves_.erase(it);
}

// A change at or under a path that is waiting to be reported moved away is newer than that
// move: report the move-out (a deletion) first, so the new path is not swept away with it.
void Coalescer::expireMovesTouching(const std::string& path, std::uint32_t cookie, std::vector<Settled>& out) {
  if (moves_.empty()) return;
  std::vector<std::uint32_t> stale;
  for (const auto& [c, move] : moves_) {
    if (c != cookie && core::isWithin(path, move.path)) stale.push_back(c);
  }
  for (auto c : stale) expireMove(c, out);
}

void Coalescer::closed(RawChange&& change, TimePoint now, Duration wait, std::vector<Settled>& out) {
  auto [it, fresh] = writes_.try_emplace(change.path);
  if (fresh) it->second.first = now;
  if (change.process) it->second.process = change.process;
  it->second.contentOpen = false;
  auto recent = recent_.find(change.path);
  if (recent != recent_.end() && recent->second > now) {  // closed again soon after a look: wait for the burst's end
    if (it->second.due > now && !fresh && it->second.due <= recent->second) return;
    schedule(it->first, it->second, recent->second);
    return;
  }
  auto process = std::move(it->second.process);
  settleNow(change.path, false, out, std::move(process));
  recent_[change.path] = now + wait;
}

void Coalescer::add(RawChange change, TimePoint now, std::vector<Settled>& out, std::optional<Duration> quiet) {
  using K = RawChange::Kind;
  const Duration wait = quiet.value_or(options_.quietPeriod);
  expireMovesTouching(change.path, change.kind == K::MovedTo ? change.cookie : 0, out);
  switch (change.kind) {
    case K::Modified: {
      auto [it, fresh] = writes_.try_emplace(change.path);
      if (fresh) it->second.first = now;
      it->second.contentOpen = true;
      if (change.process) it->second.process = change.process;
      const bool overdue = now - it->second.first >= options_.maxDelay;
      schedule(it->first, it->second, overdue ? now : now + wait);
      break;
    }
    case K::Created:
      if (change.isDirectory) {
        settleNow(change.path, true, out, std::move(change.process));
      } else {  // a new file is usually written next: wait for the close (or the quiet period)
        auto [it, fresh] = writes_.try_emplace(change.path);
        if (fresh) it->second.first = now;
        it->second.contentOpen = true;
        if (change.process) it->second.process = change.process;
        schedule(it->first, it->second, now + wait);
      }
      break;
    case K::Attributes: {
      auto it = writes_.find(change.path);
      if (it != writes_.end() && it->second.contentOpen) break;  // the look after the close covers it
      settleNow(change.path, change.isDirectory, out, std::move(change.process));
      break;
    }
    case K::Closed:
      closed(std::move(change), now, wait, out);
      break;
    case K::Deleted:
      dropWrites(change.path, change.isDirectory, nullptr);
      out.push_back(Settled{Settled::Kind::Delete, change.path, {}, change.isDirectory, std::move(change.process)});
      break;
    case K::MovedFrom: {
      expireMove(change.cookie, out);  // a reused cookie: the earlier one is not coming back
      MoveFrom move{change.path, change.isDirectory, now, {}, std::move(change.process)};
      dropWrites(change.path, change.isDirectory, &move);
      if (change.cookie == 0) {  // nothing to pair it with
        ++unpaired_;
        out.push_back(Settled{Settled::Kind::Delete, move.path, {}, move.isDirectory, move.process});
        break;
      }
      moves_[change.cookie] = std::move(move);
      schedule_.emplace(now + options_.pairWindow, std::string());
      break;
    }
    case K::MovedTo: {
      auto it = change.cookie != 0 ? moves_.find(change.cookie) : moves_.end();
      if (it == moves_.end()) {  // moved in from outside: a new path
        settleNow(change.path, change.isDirectory, out, std::move(change.process));
        break;
      }
      ++paired_;
      MoveFrom move = std::move(it->second);
      moves_.erase(it);
      dropWrites(change.path, change.isDirectory, nullptr);  // replaced by the moved one
      out.push_back(Settled{Settled::Kind::Move, change.path, move.path, change.isDirectory,
                            change.process ? change.process : move.process});
      for (auto& [relative, write] : move.children) {  // still being written: wait on at the new path
        auto [child, inserted] = writes_.insert_or_assign(change.path + relative, std::move(write));
        schedule(child->first, child->second, child->second.due);
      }
      break;
    }
    case K::Renamed:
      dropWrites(change.oldPath, change.isDirectory, nullptr);
      dropWrites(change.path, change.isDirectory, nullptr);
      ++paired_;
      out.push_back(Settled{Settled::Kind::Move, change.path, change.oldPath, change.isDirectory,
                            std::move(change.process)});
      break;
    case K::Overflow:
      out.push_back(Settled{Settled::Kind::Rescan, change.path, {}, true, {}});
      break;
    case K::Unwatched:
      out.push_back(Settled{Settled::Kind::Unwatched, change.path, {}, true, {}});
      break;
    case K::Unresolved:
      out.push_back(Settled{Settled::Kind::Unresolved, change.path, std::move(change.detail), true, {}});
      break;
  }
}

void Coalescer::due(TimePoint now, std::vector<Settled>& out) {
  if (now >= nextPrune_) {
    std::erase_if(recent_, [&](const auto& entry) { return entry.second <= now; });
    nextPrune_ = now + options_.quietPeriod;
  }
  std::vector<std::uint32_t> expired;
  for (const auto& [cookie, move] : moves_) {
    if (now - move.at >= options_.pairWindow) expired.push_back(cookie);
  }
  std::sort(expired.begin(), expired.end(), [&](auto a, auto b) { return moves_[a].at < moves_[b].at; });
  for (auto cookie : expired) expireMove(cookie, out);
  while (!schedule_.empty() && schedule_.begin()->first <= now) {
    auto node = schedule_.extract(schedule_.begin());
    auto it = writes_.find(node.mapped());
    if (it == writes_.end() || it->second.due != node.key()) continue;  // settled or rescheduled since
    auto process = std::move(it->second.process);
    settleNow(node.mapped(), false, out, std::move(process));
  }
}

std::optional<Coalescer::TimePoint> Coalescer::nextDue() {
  while (!schedule_.empty()) {
    const auto& [at, path] = *schedule_.begin();
    if (path.empty() && !moves_.empty()) return at;  // a moved-from's pairing deadline
    auto it = path.empty() ? writes_.end() : writes_.find(path);
    if (it != writes_.end() && it->second.due == at) return at;
    schedule_.erase(schedule_.begin());
  }
  return std::nullopt;
}

}  // namespace fim::watcher
