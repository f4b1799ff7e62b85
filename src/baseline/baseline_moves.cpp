// Baseline's realtime changes: deletions, moves and subtree sweeps. Each reads and writes the
// store directly (after flushing what apply() left pending) so the records it moves are current.

#include "baseline/baseline.h"
#include "baseline/diff.h"
#include "core/logging.h"
#include "core/paths.h"

namespace fim::baseline {
namespace {

// `detected`: when the kernel event of a live change was read (event.created; else the timestamp).
events::FileEvent makeEvent(core::TimePoint at, events::Action action, events::FileInfo info, std::size_t module,
                            std::optional<core::TimePoint> detected) {
  events::FileEvent event;
  event.timestamp = at;
  event.created = detected.value_or(at);
  event.live = detected.has_value();
  event.actions = {action};
  event.file = std::move(info);
  event.module = module;
  return event;
}

}  // namespace

core::Status Baseline::writeWithEvents(core::WriteBatch& batch, std::vector<events::FileEvent>& events,
                                      std::size_t first) {
  for (std::size_t i = first; i < events.size(); ++i) stage(batch, events[i]);
  if (queue_) queue_->seal(batch);
  auto ok = store_.write(batch);
  if (queue_) queue_->published(ok);
  if (content_) content_->written();
  if (!ok) events.resize(first);
  return ok;
}

core::Status Baseline::applyRemoval(const events::PathDeleted& removal, std::vector<events::FileEvent>& events) {
  if (auto ok = flush(); !ok) return ok;
  const std::string& top = removal.path;
  const std::size_t module = removal.root < roots_.size() ? roots_[removal.root].module : 0;
  core::WriteBatch batch;
  const std::size_t first = events.size();
  auto scanned = store_.scan(core::Family::Baseline, top, [&](std::string_view key, std::string_view value) {
    if (!core::isWithin(key, top)) return true;
    events.push_back(makeEvent(clock_.now(), events::Action::Deleted, recordOrPath(key, value), module, removal.detected));
    events.back().process = removal.process;
    batch.remove(core::Family::Baseline, std::string(key));
    return true;
  });
  if (!scanned) return scanned;
  if (auto dropped = dropContents(batch, top); !dropped) return dropped;
  if (auto ok = writeWithEvents(batch, events, first); !ok) return ok;  // nothing was removed: report nothing
  deleted_.add(static_cast<std::int64_t>(events.size() - first));
  return {};
}

core::Status Baseline::applyMove(const events::PathMoved& move, std::vector<events::FileEvent>& events) {
  if (auto ok = flush(); !ok) return ok;
  const events::PathSeen& observation = move.now;
  const std::string& from = move.from;
  const std::string& to = observation.info.path;
  auto old = lookup(from);
  if (!old) return std::unexpected(old.error());
  const bool goneAgain = observation.info.type == events::FileType::Unknown && !observation.errorMessage;
  if (!*old && goneAgain) return {};  // never known under either name and already gone: nothing to record
  if (!*old || from == to) {  // nothing known at the old path: the new one is simply a new path
    events::PathSeen plain = observation;
    plain.storedKnown = false;
    auto event = apply(plain);
    if (!event) return std::unexpected(event.error());
    if (*event) events.push_back(std::move(**event));
    return {};
  }
  const std::size_t module = observation.root < roots_.size() ? roots_[observation.root].module : 0;
  const auto now = clock_.now();
  core::WriteBatch batch;
  const std::size_t first = events.size();
  // The moved path itself: the fresh observation, diffed against where it came from. Without one
  // (the path was gone again before it could be read) the record moves as it was.
  events::FileInfo info = observation.info;
  if (info.type == events::FileType::Unknown && !observation.errorMessage) {
    info = **old;
    info.path = to;
  }
  Change change = diff(&**old, info, true);
  events::FileEvent moved = makeEvent(now, events::Action::Moved, info, module, observation.detected);
  moved.actions.insert(moved.actions.end(), change.actions.begin(), change.actions.end());
  moved.changedAttributes = std::move(change.changedAttributes);
  moved.previous = **old;
  moved.previousPath = from;
  moved.errorMessage = observation.errorMessage;
  moved.elf = observation.elf;
  moved.process = observation.process;
  moved.package = observation.package;
  events::FileInfo record = info;
  if (observation.errorMessage && record.hashes.empty()) record.hashes = (*old)->hashes;
  batch.remove(core::Family::Baseline, from);
  batch.put(core::Family::Baseline, to, encodeRecord(record));
  // Only a path actually found there counts as seen: a record moved to a path that was gone again
  // (its deletion may be among events a kernel queue overflow lost) is left to the running scan's sweep.
  if (!goneAgain) (void)seen_.insert(core::pathKey(to));
  events.push_back(std::move(moved));
  // Everything below it (a directory): rekeyed as recorded, never rehashed. A record that cannot
  // be decoded is reported moved by its path and not carried over: the next observation of its new
  // path records it afresh.
  auto scanned = store_.scan(core::Family::Baseline, from + "/", [&](std::string_view key, std::string_view value) {
    const std::string newKey = to + std::string(key.substr(from.size()));
    auto child = decodeRecord(key, value);
    batch.remove(core::Family::Baseline, std::string(key));
    if (child) {
      child->path = newKey;
      batch.put(core::Family::Baseline, newKey, encodeRecord(*child));
      (void)seen_.insert(core::pathKey(newKey));
    } else {
      reportUndecodable(key, child.error());
      child = events::FileInfo{};
      child->path = newKey;
    }
    events::FileEvent event = makeEvent(now, events::Action::Moved, std::move(*child), module, observation.detected);
    event.previousPath = std::string(key);
    events.push_back(std::move(event));
    return true;
  });
  if (!scanned) return scanned;
  if (content_) {  // the kept contents move with their records; what was kept at `to` was replaced
    if (auto dropped = dropContents(batch, to); !dropped) return dropped;
    if (auto moved = content_->moveTree(batch, from, to); !moved) return moved;
  }
  if (auto ok = writeWithEvents(batch, events, first); !ok) return ok;
  changes_.add(static_cast<std::int64_t>(events.size() - first));
  return {};
}

core::Status Baseline::sweepSubtree(const events::SubtreeDone& done, std::vector<events::FileEvent>& events) {
  if (auto ok = flush(); !ok) return ok;
  const std::string& top = done.path;
  const std::size_t module = done.root < roots_.size() ? roots_[done.root].module : 0;
  core::WriteBatch batch;
  const std::size_t first = events.size();
  auto scanned = store_.scan(core::Family::Baseline, top, [&](std::string_view key, std::string_view value) {
    if (!core::isWithin(key, top) || seen_.contains(core::pathKey(key))) return true;
    for (const auto& dir : unverified_) {
      if (key != dir && core::isWithin(key, dir)) return true;  // its directory could not be read
    }
    events.push_back(makeEvent(clock_.now(), events::Action::Deleted, recordOrPath(key, value), module, std::nullopt));
    batch.remove(core::Family::Baseline, std::string(key));
    return true;
  });
  if (!scanned) return scanned;
  for (std::size_t i = first; i < events.size(); ++i) {
    if (auto dropped = dropContents(batch, events[i].file.path); !dropped) return dropped;
  }
  if (auto ok = writeWithEvents(batch, events, first); !ok) return ok;
  deleted_.add(static_cast<std::int64_t>(events.size() - first));
  return {};
}

}  // namespace fim::baseline
