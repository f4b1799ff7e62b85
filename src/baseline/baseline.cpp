#include "baseline/baseline.h"

#include "baseline/diff.h"
#include "core/logging.h"

namespace fim::baseline {
namespace {

constexpr std::size_t kBatchSize = 512;

// A path is under root when it is the root or below it: "/a" covers "/a/x", never "/ab".
bool under(std::string_view path, std::string_view root) {
  if (!path.starts_with(root)) return false;
  return path.size() == root.size() || root == "/" || path[root.size()] == '/';
}

std::string encodeScanId(std::uint64_t id) { return std::to_string(id); }

}  // namespace

std::string rootKey(std::string_view root) { return "root:" + std::string(root); }

Baseline::Baseline(core::KvStore& store, std::vector<RootInfo> roots, core::Metrics& metrics, const core::Clock& clock)
    : store_(store),
      roots_(std::move(roots)),
      rootKnown_(roots_.size(), false),
      clock_(clock),
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
  auto last = store_.get(core::Family::Meta, kScanIdKey);
  if (!last) return std::unexpected(last.error());
  scanId_ = (*last ? std::stoull(**last) : 0) + 1;
  core::WriteBatch batch;
  batch.put(core::Family::Meta, kScanIdKey, encodeScanId(scanId_));
  return store_.write(batch);
}

core::Result<std::optional<core::FileInfo>> Baseline::lookup(std::string_view path) {
  auto bytes = store_.get(core::Family::Baseline, path);
  if (!bytes) return std::unexpected(bytes.error());
  if (!*bytes) return std::optional<core::FileInfo>();
  auto record = decodeRecord(path, **bytes);
  if (!record) return std::unexpected(record.error());
  return std::optional<core::FileInfo>(std::move(record->info));
}

std::uint64_t Baseline::recordCount() {
  std::uint64_t count = 0;
  for (const auto& root : roots_) {
    (void)store_.scan(core::Family::Baseline, root.path, [&](std::string_view key, std::string_view) {
      if (under(key, root.path)) ++count;
      return true;
    });
  }
  return count;
}

core::Result<std::optional<core::FileEvent>> Baseline::apply(const core::Observation& observation) {
  const core::FileInfo& now = observation.info;
  if (observation.childrenUnknown) unverified_.push_back(now.path);
  if (pendingKeys_.count(now.path)) {  // read our own unflushed write
    if (auto ok = flush(); !ok) return std::unexpected(ok.error());
  }
  auto old = lookup(now.path);
  if (!old) return std::unexpected(old.error());
  Record record{now, clock_.now(), scanId_};
  if (observation.errorMessage && *old && record.info.hashes.empty()) {
    record.info.hashes = (*old)->hashes;  // an unreadable file keeps its last known hashes
  }
  const bool rootKnown = observation.root < rootKnown_.size() && rootKnown_[observation.root];
  Change change = diff(old->has_value() ? &**old : nullptr, record.info, rootKnown);
  pending_.put(core::Family::Baseline, now.path, encodeRecord(record));
  pendingKeys_.insert(now.path);
  if (pending_.size() >= kBatchSize) {
    if (auto ok = flush(); !ok) return std::unexpected(ok.error());
  }
  if (change.actions.empty()) {
    unchanged_.add();
    if (observation.errorMessage) errors_.add();
    return std::optional<core::FileEvent>();
  }
  changes_.add();
  core::FileEvent event;
  event.timestamp = record.seenAt;
  event.actions = std::move(change.actions);
  event.file = std::move(record.info);
  event.errorMessage = observation.errorMessage;
  event.module = observation.root < roots_.size() ? roots_[observation.root].module : 0;
  event.changedAttributes = std::move(change.changedAttributes);
  if (*old) event.previous = std::move(**old);
  return std::optional<core::FileEvent>(std::move(event));
}

core::Status Baseline::flush() {
  if (pending_.empty()) return {};
  auto ok = store_.write(pending_);
  pending_.clear();
  pendingKeys_.clear();
  return ok;
}

core::Status Baseline::sweep(std::vector<core::FileEvent>& deleted) {
  if (auto ok = flush(); !ok) return ok;
  core::WriteBatch batch;
  for (const auto& root : roots_) {
    core::Status decoded = {};
    auto scanned = store_.scan(core::Family::Baseline, root.path, [&](std::string_view key, std::string_view value) {
      if (!under(key, root.path)) return true;
      auto record = decodeRecord(key, value);
      if (!record) {
        decoded = std::unexpected(record.error());
        return false;
      }
      if (record->scanId == scanId_) return true;
      for (const auto& dir : unverified_) {
        if (key != dir && under(key, dir)) return true;  // its directory could not be read: not known to be gone
      }
      core::FileEvent event;
      event.timestamp = clock_.now();
      event.actions = {core::Action::Deleted};
      event.file = std::move(record->info);
      event.module = root.module;
      deleted.push_back(std::move(event));
      batch.remove(core::Family::Baseline, std::string(key));
      return true;
    });
    if (!scanned) return scanned;
    if (!decoded) return decoded;
    batch.put(core::Family::Meta, rootKey(root.path), "1");
  }
  deleted_.add(static_cast<std::int64_t>(deleted.size()));
  for (std::size_t i = 0; i < roots_.size(); ++i) rootKnown_[i] = true;
  unverified_.clear();
  return store_.write(batch);
}

void Baseline::run(std::stop_token stop, core::BoundedQueue<core::Observation>& in,
                   core::BoundedQueue<core::FileEvent>& out) {
  auto& log = core::logger("baseline");
  while (auto observation = in.pop(stop)) {
    if (observation->kind == core::Observation::Kind::ScanDone) {
      std::vector<core::FileEvent> deleted;
      if (auto ok = sweep(deleted); !ok) log.error("sweeping deleted paths failed: {}", ok.error().message());
      for (auto& event : deleted) {
        if (!out.push(std::move(event), stop)) break;
      }
      continue;
    }
    auto event = apply(*observation);
    if (!event) {
      log.error("updating the baseline for {} failed: {}", observation->info.path, event.error().message());
      errors_.add();
      continue;
    }
    if (*event && !out.push(std::move(**event), stop)) break;
  }
  if (auto ok = flush(); !ok) log.error("writing the baseline failed: {}", ok.error().message());
  out.close();
}

}  // namespace fim::baseline
