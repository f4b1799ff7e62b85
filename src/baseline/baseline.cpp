#include "baseline/baseline.h"

#include "baseline/diff.h"
#include "core/logging.h"
#include "core/paths.h"

namespace fim::baseline {
namespace {

constexpr std::size_t kBatchSize = 512;

std::string encodeScanId(std::uint64_t id) { return std::to_string(id); }

// Every stored field equal: writing the record again would change nothing but when it was seen.
bool sameRecord(const events::FileInfo& a, const events::FileInfo& b) {
  return a.type == b.type && a.size == b.size && a.inode == b.inode && a.device == b.device && a.uid == b.uid &&
         a.gid == b.gid && a.owner == b.owner && a.group == b.group && a.mode == b.mode && a.setuid == b.setuid &&
         a.setgid == b.setgid && a.mtime == b.mtime && a.ctime == b.ctime && a.targetPath == b.targetPath &&
         a.mimeType == b.mimeType && a.selinux == b.selinux && a.acl == b.acl && a.hashes == b.hashes;
}

}  // namespace

std::string rootKey(std::string_view root) { return "root:" + std::string(root); }

Baseline::Baseline(core::KvStore& store, std::vector<RootInfo> roots, core::Metrics& metrics, const core::Clock& clock,
                   queue::Producer* queue)
    : store_(store),
      roots_(std::move(roots)),
      rootKnown_(roots_.size(), false),
      clock_(clock),
      queue_(queue),
      changes_(metrics.counter("baseline.changes")),
      unchanged_(metrics.counter("baseline.unchanged")),
      deleted_(metrics.counter("baseline.deleted")),
      errors_(metrics.counter("baseline.errors")) {}

core::Status Baseline::open() {
  for (std::size_t i = 0; i < roots_.size(); ++i) {
    auto known = store_.get(core::Family::Meta, rootKey(roots_[i].path));
    if (!known) return std::unexpected(known.error());
    rootKnown_[i] = known->has_value();
  }
  empty_ = true;
  auto any = store_.scan(core::Family::Baseline, "", [&](std::string_view, std::string_view) {
    empty_ = false;
    return false;
  });
  if (!any) return any;
  auto last = store_.get(core::Family::Meta, kScanIdKey);
  if (!last) return std::unexpected(last.error());
  scanId_ = (*last ? std::stoull(**last) : 0) + 1;
  core::WriteBatch batch;
  batch.put(core::Family::Meta, kScanIdKey, encodeScanId(scanId_));
  return store_.write(batch);
}

core::Result<std::optional<events::FileInfo>> Baseline::lookup(std::string_view path) {
  auto bytes = store_.get(core::Family::Baseline, path);
  if (!bytes) return std::unexpected(bytes.error());
  if (!*bytes) return std::optional<events::FileInfo>();
  auto record = decodeRecord(path, **bytes);
  if (!record) return std::unexpected(record.error());
  return std::optional<events::FileInfo>(std::move(record->info));
}

std::unique_ptr<core::KvCursor> Baseline::records() { return store_.cursor(core::Family::Baseline); }

std::optional<events::FileStamp> Baseline::stamp(std::string_view record) const { return stampOfRecord(record); }

core::Result<events::FileInfo> Baseline::decode(std::string_view path, std::string_view record) const {
  auto decoded = decodeRecord(path, record);
  if (!decoded) return std::unexpected(decoded.error());
  return std::move(decoded->info);
}

std::uint64_t Baseline::recordCount() { return store_.approximateCount(core::Family::Baseline); }

core::Result<std::optional<events::FileEvent>> Baseline::apply(const events::Observation& observation) {
  // Flushed before staging, never between a record and its event.
  if (pending_.size() >= kBatchSize) {
    if (auto ok = flush(); !ok) return std::unexpected(ok.error());
  }
  const events::FileInfo& now = observation.info;
  if (observation.childrenUnknown) unverified_.push_back(now.path);
  const std::uint64_t key = core::pathKey(now.path);
  const bool seenBefore = !seen_.insert(key);
  std::optional<events::FileInfo> old;
  if (observation.storedKnown && !seenBefore) {
    old = observation.stored;  // nothing wrote this path since the watcher read it
  } else {
    if (pendingKeys_.count(key)) {  // read our own unflushed write (a key collision only flushes early)
      if (auto ok = flush(); !ok) return std::unexpected(ok.error());
    }
    auto stored = lookup(now.path);
    if (!stored) return std::unexpected(stored.error());
    old = std::move(*stored);
  }
  Record record{now, clock_.now(), scanId_};
  if (observation.errorMessage && old && record.info.hashes.empty()) {
    record.info.hashes = old->hashes;  // an unreadable file keeps its last known hashes
  }
  const bool rootKnown = observation.root < rootKnown_.size() && rootKnown_[observation.root];
  Change change = diff(old ? &*old : nullptr, record.info, rootKnown);
  // An unchanged path costs no write: the seen set, not a stamp, protects it from the sweep.
  if (!old || !sameRecord(*old, record.info)) {
    pending_.put(core::Family::Baseline, now.path, encodeRecord(record));
    pendingKeys_.insert(key);
  }
  if (change.actions.empty()) {
    unchanged_.add();
    if (observation.errorMessage) errors_.add();
    return std::optional<events::FileEvent>();
  }
  changes_.add();
  events::FileEvent event;
  event.timestamp = record.seenAt;
  event.actions = std::move(change.actions);
  event.file = std::move(record.info);
  event.errorMessage = observation.errorMessage;
  event.module = observation.root < roots_.size() ? roots_[observation.root].module : 0;
  event.changedAttributes = std::move(change.changedAttributes);
  if (old) event.previous = std::move(*old);
  event.process = observation.process;
  if (queue_) queue_->append(pending_, event);
  return std::optional<events::FileEvent>(std::move(event));
}

core::Status Baseline::flush() {
  if (pending_.empty()) return {};
  if (queue_) queue_->seal(pending_);
  auto ok = store_.write(pending_);
  if (queue_) queue_->published(ok.has_value());
  pending_.clear();
  pendingKeys_.clear();
  return ok;
}

core::Status Baseline::sweep(std::vector<events::FileEvent>& deleted, const std::vector<bool>& rootsMatched) {
  if (auto ok = flush(); !ok) return ok;
  core::WriteBatch& batch = pending_;
  const std::size_t before = deleted.size();  // the caller's vector may already hold other events
  for (std::size_t i = 0; i < roots_.size(); ++i) {
    const auto& root = roots_[i];
    if (i < rootsMatched.size() && rootsMatched[i]) {
      batch.put(core::Family::Meta, rootKey(root.path), "1");
      continue;
    }
    core::Status decoded = {};
    auto scanned = store_.scan(core::Family::Baseline, root.path, [&](std::string_view key, std::string_view value) {
      if (!core::isWithin(key, root.path) || seen_.contains(core::pathKey(key))) return true;
      auto record = decodeRecord(key, value);
      if (!record) {
        decoded = std::unexpected(record.error());
        return false;
      }
      for (const auto& dir : unverified_) {
        if (key != dir && core::isWithin(key, dir)) return true;  // its directory could not be read: not known to be gone
      }
      events::FileEvent event;
      event.timestamp = clock_.now();
      event.actions = {events::Action::Deleted};
      event.file = std::move(record->info);
      event.module = root.module;
      batch.remove(core::Family::Baseline, std::string(key));
      if (queue_) queue_->append(batch, event);
      deleted.push_back(std::move(event));
      return true;
    });
    if (!scanned) return scanned;
    if (!decoded) return decoded;
    batch.put(core::Family::Meta, rootKey(root.path), "1");
  }
  deleted_.add(static_cast<std::int64_t>(deleted.size() - before));
  for (std::size_t i = 0; i < roots_.size(); ++i) rootKnown_[i] = true;
  unverified_.clear();
  seen_.clear();
  return flush();
}

void Baseline::run(std::stop_token stop, core::BoundedQueue<events::Observation>& in) {
  auto& log = core::logger("baseline");
  std::vector<events::Observation> batch;
  std::vector<events::FileEvent> swept, realtime;
  while (queue_->waitForSpace(stop) && in.popBatch(batch, kBatchSize, stop) > 0) {
    for (auto& observation : batch) {
      if (observation.kind == events::Observation::Kind::Unchanged) {
        seen_.addUnchanged(observation.unchangedKeys);
        unchanged_.add(static_cast<std::int64_t>(observation.unchangedKeys.size()));
        continue;
      }
      if (observation.kind == events::Observation::Kind::ScanStarted) {
        seen_.clear();
        unverified_.clear();
        continue;
      }
      if (observation.kind == events::Observation::Kind::ScanDone) {
        if (auto ok = sweep(swept, observation.rootsMatched); !ok) log.error("sweeping deleted paths failed: {}", ok.error().message());
        swept.clear();
        continue;
      }
      if (applyRealtime(observation, realtime)) {
        realtime.clear();
        continue;
      }
      if (auto event = apply(observation); !event) {
        log.error("updating the baseline for {} failed: {}", observation.info.path, event.error().message());
        errors_.add();
      }
    }
    batch.clear();
    // One write per batch: the records and their events become durable together.
    if (auto ok = flush(); !ok) log.error("writing the baseline failed: {}", ok.error().message());
  }
  if (auto ok = flush(); !ok) log.error("writing the baseline failed: {}", ok.error().message());
  queue_->closeProducer();
}

}  // namespace fim::baseline
