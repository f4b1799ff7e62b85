#include "baseline/baseline.h"

#include <algorithm>

#include "baseline/classify.h"
#include "baseline/database_format.h"
#include "baseline/diff.h"
#include "core/logging.h"
#include "core/paths.h"

namespace fim::baseline {
namespace {

constexpr std::size_t kBatchSize = 512;

// The View's cursor: a store cursor whose records are decoded here, never by the watcher.
class StoreRecords final : public RecordCursor {
 public:
  StoreRecords(std::unique_ptr<core::KvCursor> cursor, Baseline& baseline)
      : cursor_(std::move(cursor)), baseline_(baseline) {}
  void seek(std::string_view path) override { cursor_->seek(path); }
  void next() override { cursor_->next(); }
  bool valid() const override { return cursor_->valid(); }
  std::string_view path() const override { return cursor_->key(); }
  std::optional<events::FileStamp> stamp() const override {
    auto stamp = stampOfRecord(cursor_->value());
    if (!stamp) (void)info();  // says why, once
    return stamp;
  }
  std::optional<events::FileInfo> info() const override {
    auto record = decodeRecord(cursor_->key(), cursor_->value());
    if (!record) {
      baseline_.reportUndecodable(cursor_->key(), record.error());
      return std::nullopt;
    }
    return std::move(*record);
  }
  core::Status status() const override {
    auto status = cursor_->status();
    if (!status) baseline_.noteDamage(status.error());
    return status;
  }

 private:
  std::unique_ptr<core::KvCursor> cursor_;
  Baseline& baseline_;
};

}  // namespace

std::string rootKey(std::string_view root) { return "root:" + std::string(root); }

Baseline::Baseline(core::KvStore& store, std::vector<RootInfo> roots, core::Metrics& metrics, const core::Clock& clock,
                   queue::Producer* queue, core::Health* health)
    : store_(store),
      roots_(std::move(roots)),
      rootKnown_(roots_.size(), false),
      clock_(clock),
      queue_(queue),
      changes_(metrics.counter("baseline.changes")),
      unchanged_(metrics.counter("baseline.unchanged")),
      deleted_(metrics.counter("baseline.deleted")),
      errors_(metrics.counter("baseline.errors")),
      undecodable_(metrics.counter("baseline.records.undecodable")),
      outOfScope_(metrics.counter("baseline.records.out_of_scope")),
      corruption_(metrics.counter("baseline.corruption")),
      health_(health) {}

core::Status Baseline::open() {
  for (std::size_t i = 0; i < roots_.size(); ++i) {
    auto known = store_.get(core::Family::Meta, rootKey(roots_[i].path));
    if (!known) return std::unexpected(known.error());
    rootKnown_[i] = known->has_value();
  }
  auto rebuilt = store_.get(core::Family::Meta, kRebuiltKey);
  if (!rebuilt) return std::unexpected(rebuilt.error());
  rebuilding_ = rebuilt->has_value();
  empty_ = true;
  auto any = store_.scan(core::Family::Baseline, "", [&](std::string_view, std::string_view) {
    empty_ = false;
    return false;
  });
  return any;
}

core::Result<std::optional<events::FileInfo>> Baseline::lookup(std::string_view path) {
  auto bytes = store_.get(core::Family::Baseline, path);
  if (!bytes) {
    noteDamage(bytes.error());
    return std::unexpected(bytes.error());
  }
  if (!*bytes) return std::optional<events::FileInfo>();
  auto record = decodeRecord(path, **bytes);
  if (!record) {
    reportUndecodable(path, record.error());
    return std::optional<events::FileInfo>();
  }
  return std::optional<events::FileInfo>(std::move(*record));
}

std::unique_ptr<RecordCursor> Baseline::records() {
  return std::make_unique<StoreRecords>(store_.cursor(core::Family::Baseline), *this);
}

void Baseline::noteDamage(const core::Error& error) {
  if (error.code() != core::ErrorCode::Corrupt) return;
  {
    std::lock_guard lock(reportedMutex_);
    if (damaged_.load(std::memory_order_relaxed)) return;
    damage_ = error.message();
    damaged_.store(true, std::memory_order_release);
  }
  corruption_.add();
  const std::string why = "the baseline database is damaged (" + error.message() +
                          "): changes are still reported, without their previous state, until it is rebuilt";
  core::logger("baseline").error("{}; rebuilding it", why);
  if (health_) health_->set(core::Health::kBaseline, "damaged", core::HealthState::Failed, why);
}

std::string Baseline::damage() const {
  if (!damaged()) return {};
  return damage_;
}

void Baseline::reportUndecodable(std::string_view path, const core::Error& error) {
  {
    std::lock_guard lock(reportedMutex_);
    if (!reported_.insert(core::pathKey(path)).second) return;
  }
  undecodable_.add();
  core::logger("baseline").error("{}: it counts as no record, and the next observation of the path replaces it",
                                 error.message());
}

events::FileInfo Baseline::recordOrPath(std::string_view key, std::string_view value) {
  auto record = decodeRecord(key, value);
  if (record) return std::move(*record);
  reportUndecodable(key, record.error());
  events::FileInfo unknown;  // what is left of it: the path
  unknown.path = std::string(key);
  return unknown;
}

std::uint64_t Baseline::recordCount() { return store_.approximateCount(core::Family::Baseline); }

core::Result<std::optional<events::FileEvent>> Baseline::apply(const events::PathSeen& observation) {
  // Flushed before staging, never between a record and its event.
  if (pending_.size() >= kBatchSize) {
    if (auto ok = flush(); !ok) return std::unexpected(ok.error());
  }
  const events::FileInfo& now = observation.info;
  if (observation.childrenUnknown) unverified_.push_back(now.path);
  const std::uint64_t key = core::pathKey(now.path);
  const bool seenBefore = !seen_.insert(key);
  std::optional<events::FileInfo> old;
  std::optional<core::Error> unread;
  if (observation.storedKnown && !seenBefore) {
    old = observation.stored;  // nothing wrote this path since the watcher read it
  } else {
    if (pendingKeys_.count(key)) {  // read our own unflushed write (a key collision only flushes early)
      if (auto ok = flush(); !ok) return std::unexpected(ok.error());
    }
    auto stored = lookup(now.path);
    if (stored) {
      old = std::move(*stored);
    } else if (stored.error().code() == core::ErrorCode::Corrupt) {
      unread = stored.error();  // the change is still reported, its previous state unknown
    } else {
      return std::unexpected(stored.error());
    }
  }
  events::FileInfo record = now;
  if (observation.errorMessage && old && record.hashes.empty() && !old->hashes.empty()) {
    // An unreadable file keeps its last known digests, to tell a changed content once it can be
    // read again; when its size or mtime moved they no longer describe it and are marked stale.
    record.hashes = old->hashes;
    record.hashesStale = old->hashesStale || !sameContentUnread(events::stampOf(*old), events::stampOf(now));
  }
  // A path no record knows is `created` when its root was scanned before or when a live kernel
  // event reported it (it came to be while watched, even if the first scan's end is still on its
  // way here); only what a first scan finds is `initial_scan`.
  const bool rootKnown =
      observation.detected.has_value() || (observation.root < rootKnown_.size() && rootKnown_[observation.root]);
  Change change = diff(old ? &*old : nullptr, record, rootKnown);
  if (unread) change = Change{{events::Action::Updated}, {}};
  // An unchanged path costs no write: the seen set, not a stamp, protects it from the sweep.
  if (!old || !identical(*old, record)) {
    pending_.put(core::Family::Baseline, now.path, encodeRecord(record));
    pendingKeys_.insert(key);
  }
  std::optional<std::string> contentDiff;
  if (content_ && observation.contentChecked) {
    const bool updated = std::find(change.actions.begin(), change.actions.end(), events::Action::Updated) !=
                         change.actions.end();
    auto staged = stageContent(observation, updated && old.has_value());
    if (!staged) return std::unexpected(staged.error());
    contentDiff = std::move(*staged);
  }
  if (change.actions.empty()) {
    unchanged_.add();
    if (observation.errorMessage) errors_.add();
    return std::optional<events::FileEvent>();
  }
  changes_.add();
  events::FileEvent event;
  event.timestamp = clock_.now();
  event.created = observation.detected.value_or(event.timestamp);
  event.live = observation.detected.has_value();
  event.actions = std::move(change.actions);
  event.file = std::move(record);
  event.errorMessage = observation.errorMessage;
  event.elf = observation.elf;
  if (unread) {
    event.errorMessage = (observation.errorMessage ? *observation.errorMessage + "; " : std::string()) +
                         "the baseline's record of this path could not be read (" + unread->message() +
                         "): what changed is unknown";
  }
  event.baselineRebuilt = rebuilding_ && !event.live;
  event.module = observation.root < roots_.size() ? roots_[observation.root].module : 0;
  event.changedAttributes = std::move(change.changedAttributes);
  if (old) event.previous = std::move(*old);
  event.process = observation.process;
  event.package = observation.package;
  event.diff = std::move(contentDiff);
  stage(pending_, event);
  return std::optional<events::FileEvent>(std::move(event));
}

void Baseline::stage(core::WriteBatch& batch, events::FileEvent& event) {
  // What a first scan finds is not a change: only changes are approved.
  const bool change = !(event.actions.size() == 1 && event.actions.front() == events::Action::InitialScan);
  if (approvals_ && change) {
    event.approval = approvals_->approvalFor(event.file.path, event.created);
    if (!event.approval && event.previousPath) event.approval = approvals_->approvalFor(*event.previousPath, event.created);
  }
  if (queue_) queue_->append(batch, event);
}

core::Status Baseline::flush() {
  if (pending_.empty()) return {};
  if (queue_) queue_->seal(pending_);
  auto ok = store_.write(pending_);
  if (queue_) queue_->published(ok);
  if (content_) content_->written();
  pending_.clear();
  pendingKeys_.clear();
  return ok;
}

core::Status Baseline::sweep(std::vector<events::FileEvent>& deleted, const std::vector<bool>& rootsMatched) {
  if (auto ok = flush(); !ok) return ok;
  core::WriteBatch& batch = pending_;
  const std::size_t before = deleted.size();  // the caller's vector may already hold other events
  std::vector<std::string> gone;  // of one root: their kept contents go too
  for (std::size_t i = 0; i < roots_.size(); ++i) {
    const auto& root = roots_[i];
    if (i < rootsMatched.size() && rootsMatched[i]) {
      batch.put(core::Family::Meta, rootKey(root.path), "1");
      continue;
    }
    auto scanned = store_.scan(core::Family::Baseline, root.path, [&](std::string_view key, std::string_view value) {
      if (!core::isWithin(key, root.path) || seen_.contains(core::pathKey(key))) return true;
      for (const auto& dir : unverified_) {
        if (key != dir && core::isWithin(key, dir)) return true;  // its directory could not be read: not known to be gone
      }
      events::FileEvent event;
      event.timestamp = event.created = clock_.now();
      event.actions = {events::Action::Deleted};
      event.file = recordOrPath(key, value);
      event.module = root.module;
      event.baselineRebuilt = rebuilding_;
      if (root.inScope && !root.inScope(key, event.file.type == events::FileType::Dir)) {
        batch.remove(core::Family::Baseline, std::string(key));  // excluded since: still there, no longer watched
        outOfScope_.add();
        return true;
      }
      batch.remove(core::Family::Baseline, std::string(key));
      stage(batch, event);
      deleted.push_back(std::move(event));
      gone.emplace_back(key);
      return true;
    });
    if (!scanned) return scanned;
    for (const auto& path : gone) {
      if (auto dropped = dropContents(batch, path); !dropped) return dropped;
    }
    gone.clear();
    batch.put(core::Family::Meta, rootKey(root.path), "1");
  }
  deleted_.add(static_cast<std::int64_t>(deleted.size() - before));
  if (rebuilding_) {  // the rebuilt baseline is verified: what follows are ordinary changes
    batch.remove(core::Family::Meta, kRebuiltKey);
    rebuilding_ = false;
    if (health_) health_->clear(core::Health::kBaseline, "rebuilt");
    core::logger("baseline").info("the scan after the rebuild of the baseline is done: the new baseline is verified");
  }
  for (std::size_t i = 0; i < roots_.size(); ++i) rootKnown_[i] = true;
  unverified_.clear();
  seen_.clear();
  return flush();
}

void Baseline::take(const events::Observation& observation) {
  auto& log = core::logger("baseline");
  const auto failed = [&](std::string_view path, const core::Error& error) {
    log.error("updating the baseline for {} failed: {}", path, error.message());
    errors_.add();
    noteDamage(error);
    if (error.code() == core::ErrorCode::Corrupt) reportUnread(observation, error);
  };
  std::visit(
      [&](const auto& o) {
        using Kind = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<Kind, events::PathSeen>) {
          if (auto event = apply(o); !event) failed(o.info.path, event.error());
        } else if constexpr (std::is_same_v<Kind, events::PathsUnchanged>) {
          seen_.addUnchanged(o.keys);
          unchanged_.add(static_cast<std::int64_t>(o.keys.size()));
        } else if constexpr (std::is_same_v<Kind, events::ScanStarted>) {
          seen_.clear();
          unverified_.clear();
          if (auto ok = flush(); !ok) log.error("writing the baseline failed: {}", ok.error().message());
          o.written->set_value();
        } else if constexpr (std::is_same_v<Kind, events::ScanDone>) {
          if (auto ok = sweep(taken_, o.rootsMatched); !ok) log.error("sweeping deleted paths failed: {}", ok.error().message());
        } else if constexpr (std::is_same_v<Kind, events::PathDeleted>) {
          if (auto ok = applyRemoval(o, taken_); !ok) failed(o.path, ok.error());
        } else if constexpr (std::is_same_v<Kind, events::PathMoved>) {
          if (auto ok = applyMove(o, taken_); !ok) failed(o.now.info.path, ok.error());
        } else if constexpr (std::is_same_v<Kind, events::SubtreeDone>) {
          if (auto ok = sweepSubtree(o, taken_); !ok) failed(o.path, ok.error());
        }
      },
      observation);
  taken_.clear();  // queued with their records: the delivery reads them from there
}

void Baseline::reportUnread(const events::Observation& observation, const core::Error& error) {
  const std::string why = "the baseline's records could not be read (" + error.message() + "): what changed is unknown";
  const auto moduleOf = [&](std::size_t root) { return root < roots_.size() ? roots_[root].module : 0; };
  events::FileEvent event;
  event.timestamp = clock_.now();
  event.errorMessage = why;
  core::WriteBatch batch;
  if (const auto* removal = std::get_if<events::PathDeleted>(&observation)) {
    event.actions = {events::Action::Deleted};
    event.file.path = removal->path;
    event.module = moduleOf(removal->root);
    event.process = removal->process;
    event.created = removal->detected.value_or(event.timestamp);
    event.live = removal->detected.has_value();
    batch.remove(core::Family::Baseline, removal->path);
  } else if (const auto* move = std::get_if<events::PathMoved>(&observation)) {
    event.actions = {events::Action::Moved};
    event.file = move->now.info;
    event.previousPath = move->from;
    event.module = moduleOf(move->now.root);
    event.process = move->now.process;
    event.created = move->now.detected.value_or(event.timestamp);
    event.live = move->now.detected.has_value();
    batch.remove(core::Family::Baseline, move->from);
    if (event.file.type != events::FileType::Unknown) {
      batch.put(core::Family::Baseline, event.file.path, encodeRecord(event.file));
    }
  } else {
    return;  // a scan's observation: the scan after the rebuild reports it
  }
  std::vector<events::FileEvent> events{std::move(event)};
  if (auto ok = writeWithEvents(batch, events, 0); !ok) {
    core::logger("baseline").error("queueing the event of a change the damaged baseline could not record failed: {}",
                                   ok.error().message());
    return;
  }
  changes_.add();
  taken_.push_back(std::move(events.front()));
}

void Baseline::run(std::stop_token stop, core::BoundedQueue<events::Observation>& in) {
  auto& log = core::logger("baseline");
  std::vector<events::Observation> batch;
  while (queue_->waitForSpace(stop) && in.popBatch(batch, kBatchSize, stop) > 0) {
    for (const auto& observation : batch) take(observation);
    batch.clear();
    // One write per batch: the records and their events become durable together.
    if (auto ok = flush(); !ok) log.error("writing the baseline failed: {}", ok.error().message());
  }
  if (auto ok = flush(); !ok) log.error("writing the baseline failed: {}", ok.error().message());
  queue_->closeProducer();
}

}  // namespace fim::baseline
