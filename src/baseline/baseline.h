#pragma once
// Baseline: the trusted state of every watched path in the KvStore, and the stage that turns
// observations into change events by diffing them against it.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <atomic>
#include <unordered_set>
#include <mutex>
#include <vector>

#include "baseline/content_diff.h"
#include "baseline/content_store.h"
#include "baseline/record.h"
#include "baseline/seen_paths.h"
#include "core/bounded_queue.h"
#include "core/clock.h"
#include "queue/producer.h"
#include "events/approval.h"
#include "events/file_event.h"
#include "events/observation.h"
#include "core/kv_store.h"
#include "core/health.h"
#include "core/metrics.h"
#include "baseline/view.h"

namespace fim::baseline {

struct RootInfo {
  std::string path;    // absolute, symlinks resolved
  std::size_t module;  // the module that configured it
  // Whether the module still watches a path under the root (exclude_files / include_files as
  // configured now); empty: every path. A record outside is dropped quietly by the sweep, not
  // reported deleted, as Auditbeat does: the file is still there.
  std::function<bool(std::string_view path, bool isDirectory)> inScope;
};

class Baseline final : public View {
 public:
  // With a queue, every event is appended to it in the same write as the record it moved.
  Baseline(core::KvStore& store, std::vector<RootInfo> roots, core::Metrics& metrics, const core::Clock& clock,
           queue::Producer* queue = nullptr, core::Health* health = nullptr);

  // diff.enabled: the last content of each diffed file is kept in `store`, in the same write as
  // its record, and the event of an updated text file carries its diff, cut at
  // maxDiffSize[module] bytes. Before open().
  void keepContents(ContentStore& store, std::vector<std::uint64_t> maxDiffSize);

  // Reads which roots were scanned before and starts a new scan generation. After a rebuild of a
  // damaged database (database_format.h, kRebuiltKey) the events of the first full scan say so.
  [[nodiscard]] core::Status open();

  // View: the recorded state of a path, and every record in path order (thread-safe: the
  // watcher's walkers and workers read them while the baseline writes).
  [[nodiscard]] core::Result<std::optional<events::FileInfo>> lookup(std::string_view path) override;
  [[nodiscard]] std::unique_ptr<RecordCursor> records() override;

  // A stored record this fimbeat cannot decode (damaged, or of another format): logged once per
  // path and counted (baseline.records.undecodable); it counts as no record, and the next
  // observation of its path replaces it. Thread-safe.
  void reportUndecodable(std::string_view path, const core::Error& error);

  // The store said a block it read is damaged (ErrorCode::Corrupt): reported once (log, metric
  // baseline.corruption, health FAILED). The changes met since still produced their events; the
  // database must be rebuilt (baseline/rebuild.h) before this baseline is trusted again.
  bool damaged() const { return damaged_.load(std::memory_order_acquire); }
  // What the store said, once damaged().
  std::string damage() const;
  // A store error: when it says the data is damaged, reported once and remembered (damaged()).
  // Thread-safe (the watcher's cursors report through it).
  void noteDamage(const core::Error& error);

  // Approved change windows: each change event under an approved path is marked with the approval
  // that covers it at the time of the change (event.created). Set before run(); may be null.
  void setApprovals(const events::ApprovalLookup* approvals) { approvals_ = approvals; }

  // No record at all (exact, read at open()): a first run needs no lookups.
  bool empty() const { return empty_; }

  // About how many records the baseline holds: the expected total for progress estimates.
  std::uint64_t recordCount();

  // Diffs one path's state, stages the new record (and the event, when there is a queue) for the
  // next write, and returns the event to emit, if any.
  [[nodiscard]] core::Result<std::optional<events::FileEvent>> apply(const events::PathSeen& seen);

  // After a full scan: every record under a root that the scan did not see is deleted (and its
  // event queued in the same write). The records of a root the scan says it matched in full
  // (`rootsMatched`, by root index) are not read.
  [[nodiscard]] core::Status sweep(std::vector<events::FileEvent>& deleted, const std::vector<bool>& rootsMatched = {});

  // Realtime changes (baseline_moves.cpp). Each appends the events to emit to `events`.
  // The record of the path and of everything under it removed, one deleted event each.
  [[nodiscard]] core::Status applyRemoval(const events::PathDeleted& removal, std::vector<events::FileEvent>& events);
  // The record at `from`, and every record under it, move to the new path without rehashing; one
  // moved event each. No record at `from`: the new path is simply applied.
  [[nodiscard]] core::Status applyMove(const events::PathMoved& move, std::vector<events::FileEvent>& events);
  // Like sweep(), for the records under one path only (an unwatched subtree was rescanned).
  [[nodiscard]] core::Status sweepSubtree(const events::SubtreeDone& done, std::vector<events::FileEvent>& events);

  // Applies any kind of observation (the run loop's dispatch); errors are logged and counted.
  void take(const events::Observation& observation);

  // Until `in` is closed and drained (or stop): events go to the queue, one write per batch of
  // observations. Closes the queue's producer side when it returns. Needs a queue.
  void run(std::stop_token stop, core::BoundedQueue<events::Observation>& in);

  // Writes the staged records and queued events in one atomic batch.
  [[nodiscard]] core::Status flush();

 private:
  // A stored record, or (reported) only its path when it cannot be decoded: a deletion or a move
  // is still reported for it.
  events::FileInfo recordOrPath(std::string_view key, std::string_view value);
  // A realtime change whose records could not be read (damage): its event still goes out, with
  // what is known of it and the error.
  void reportUnread(const events::Observation& observation, const core::Error& error);
  // Marks the event with its approval, if any, and appends it to `batch` when there is a queue.
  void stage(core::WriteBatch& batch, events::FileEvent& event);
  // Writes `batch` with the events from `first` on queued in it; on failure drops those events.
  [[nodiscard]] core::Status writeWithEvents(core::WriteBatch& batch, std::vector<events::FileEvent>& events,
                                             std::size_t first);
  // baseline_content.cpp: the content the watcher read replaces the kept one in pending_; the diff
  // against the kept one when `updated` and both are text.
  [[nodiscard]] core::Result<std::optional<std::string>> stageContent(const events::PathSeen& seen, bool updated);
  // The kept contents of `path` and of what is under it go with their records.
  [[nodiscard]] core::Status dropContents(core::WriteBatch& batch, std::string_view path);

  core::KvStore& store_;
  ContentStore* content_ = nullptr;  // diff.enabled in some module
  std::vector<std::uint64_t> maxDiffSize_;  // by module
  std::unique_ptr<ContentDiffer> differ_;
  std::vector<RootInfo> roots_;
  std::vector<bool> rootKnown_;
  const core::Clock& clock_;
  queue::Producer* queue_;
  const events::ApprovalLookup* approvals_ = nullptr;
  bool empty_ = true;
  core::WriteBatch pending_;
  std::unordered_set<std::uint64_t> pendingKeys_;  // core::pathKey() of the records staged in pending_
  std::vector<std::string> unverified_;  // directories this scan could not read
  SeenPaths seen_;  // what this scan saw: what the deletion sweep keeps
  core::Counter& changes_;
  core::Counter& unchanged_;
  core::Counter& deleted_;
  core::Counter& errors_;
  core::Counter& undecodable_;
  core::Counter& outOfScope_;
  core::Counter& corruption_;
  core::Health* health_;
  bool rebuilding_ = false;  // the first full scan after a rebuild has not finished yet
  std::atomic<bool> damaged_{false};
  std::string damage_;  // written once, before damaged_ is set
  std::vector<events::FileEvent> taken_;  // take()'s events, written with their records and then dropped
  std::mutex reportedMutex_;
  std::unordered_set<std::uint64_t> reported_;  // core::pathKey() of the undecodable records logged
};

// Keys: a record is stored under its path; a root is "known" once fully scanned.
std::string rootKey(std::string_view root);

}  // namespace fim::baseline
