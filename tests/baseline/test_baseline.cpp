#include <doctest/doctest.h>

#include <future>
#include <thread>

#include "baseline/baseline.h"
#include "baseline/classify.h"
#include "queue/durable_queue.h"
#include "core/paths.h"
#include "support/memory_store.h"

using namespace fim;
using events::Action;

namespace {

events::PathSeen observe(const std::string& path, const std::string& sha, std::size_t root = 0) {
  events::PathSeen o;
  o.info.path = path;
  o.info.type = events::FileType::File;
  o.info.size = sha.size();
  o.info.mode = 0644;
  o.info.hashes[events::HashType::Sha256] = sha;
  o.root = root;
  return o;
}

std::string actionsOf(const events::FileEvent& e) {
  std::string out;
  for (auto a : e.actions) out += std::string(out.empty() ? "" : ",") + events::toString(a);
  return out;
}

struct Fixture {
  testing::MemoryStore store;
  core::Metrics metrics;
  core::SystemClock clock;
  std::vector<baseline::RootInfo> roots{{"/a", 0}, {"/ab", 1}};

  std::unique_ptr<baseline::Baseline> start() {
    auto b = std::make_unique<baseline::Baseline>(store, roots, metrics, clock);
    REQUIRE(b->open().has_value());
    return b;
  }
};

}  // namespace

TEST_CASE("baseline: first run is initial_scan, a second run with a new file says created") {
  Fixture fx;
  auto first = fx.start();
  auto e = first->apply(observe("/a/x", "11"));
  REQUIRE(e.has_value());
  REQUIRE(e->has_value());
  CHECK(actionsOf(**e) == "initial_scan");
  std::vector<events::FileEvent> deleted;
  REQUIRE(first->sweep(deleted).has_value());
  CHECK(deleted.empty());

  auto second = fx.start();
  auto same = second->apply(observe("/a/x", "11"));
  REQUIRE(same.has_value());
  CHECK_FALSE(same->has_value());  // unchanged: no event
  auto created = second->apply(observe("/a/y", "22"));
  REQUIRE(created->has_value());
  CHECK(actionsOf(**created) == "created");
  auto updated = second->apply(observe("/a/x", "333"));
  REQUIRE(updated->has_value());
  CHECK(actionsOf(**updated) == "updated,attributes_modified");  // the size moved with the content
  REQUIRE((*updated)->previous.has_value());
  CHECK((*updated)->previous->hashes.at(events::HashType::Sha256) == "11");
  CHECK((*updated)->changedAttributes == std::vector<std::string>{"hash.sha256", "size"});
}

TEST_CASE("baseline: paths not seen by a scan are deleted, root /a never touches /ab") {
  Fixture fx;
  {
    auto first = fx.start();
    for (const char* p : {"/a", "/a/gone", "/a/kept", "/ab", "/ab/other"}) {
      REQUIRE(first->apply(observe(p, "1", std::string(p).starts_with("/ab") ? 1 : 0)).has_value());
    }
    std::vector<events::FileEvent> deleted;
    REQUIRE(first->sweep(deleted).has_value());
  }
  auto second = fx.start();
  CHECK(second->recordCount() == 5);
  REQUIRE(second->apply(observe("/a", "1")).has_value());
  REQUIRE(second->apply(observe("/a/kept", "1")).has_value());
  REQUIRE(second->apply(observe("/ab", "1", 1)).has_value());
  REQUIRE(second->apply(observe("/ab/other", "1", 1)).has_value());
  std::vector<events::FileEvent> deleted;
  REQUIRE(second->sweep(deleted).has_value());
  REQUIRE(deleted.size() == 1);
  CHECK(deleted[0].file.path == "/a/gone");
  CHECK(actionsOf(deleted[0]) == "deleted");
  CHECK(fx.store.count(core::Family::Baseline) == 4);
}

TEST_CASE("baseline: the sweep does not read the records of a root the scan matched in full") {
  Fixture fx;
  {
    auto first = fx.start();
    for (const char* p : {"/a", "/a/unseen", "/ab", "/ab/unseen"}) {
      REQUIRE(first->apply(observe(p, "1", std::string(p).starts_with("/ab") ? 1 : 0)).has_value());
    }
    std::vector<events::FileEvent> deleted;
    REQUIRE(first->sweep(deleted).has_value());
  }
  auto second = fx.start();
  REQUIRE(second->apply(observe("/a", "1")).has_value());
  REQUIRE(second->apply(observe("/ab", "1", 1)).has_value());
  std::vector<events::FileEvent> deleted;
  // The scan vouched for /a (it matched every record below it), not for /ab.
  REQUIRE(second->sweep(deleted, {true, false}).has_value());
  REQUIRE(deleted.size() == 1);
  CHECK(deleted[0].file.path == "/ab/unseen");
  CHECK(fx.store.get(core::Family::Baseline, "/a/unseen")->has_value());
  // Both roots count as scanned: a path new under either is "created" from now on.
  auto third = fx.start();
  auto created = third->apply(observe("/ab/new", "1", 1));
  REQUIRE(created->has_value());
  CHECK(actionsOf(**created) == "created");
  created = third->apply(observe("/a/new", "1", 0));
  REQUIRE(created->has_value());
  CHECK(actionsOf(**created) == "created");
}

TEST_CASE("baseline: an unreadable file keeps its previous hashes and carries the error") {
  Fixture fx;
  {
    auto first = fx.start();
    REQUIRE(first->apply(observe("/a/f", "aa")).has_value());
    std::vector<events::FileEvent> deleted;
    REQUIRE(first->sweep(deleted).has_value());
  }
  auto second = fx.start();
  auto unreadable = observe("/a/f", "aa");
  unreadable.info.hashes.clear();
  unreadable.info.mode = 0;  // chmod 000 is why it cannot be read
  unreadable.errorMessage = "failed to hash /a/f: Permission denied";
  auto e = second->apply(unreadable);
  REQUIRE(e.has_value());
  REQUIRE(e->has_value());
  CHECK(actionsOf(**e) == "attributes_modified");
  CHECK((*e)->errorMessage == unreadable.errorMessage);
  CHECK((*e)->file.hashes.at(events::HashType::Sha256) == "aa");
  auto stored = second->lookup("/a/f");
  REQUIRE(stored.has_value());
  CHECK((*stored)->hashes.at(events::HashType::Sha256) == "aa");
}

TEST_CASE("baseline: a file changed while unreadable: its digests are kept but stale, never shown as its own") {
  Fixture fx;
  {
    auto first = fx.start();
    REQUIRE(first->apply(observe("/a/f", "aa")).has_value());
    std::vector<events::FileEvent> deleted;
    REQUIRE(first->sweep(deleted).has_value());
  }
  auto second = fx.start();
  auto unreadable = observe("/a/f", "aa");
  unreadable.info.hashes.clear();
  unreadable.info.size = 7;  // written, then made unreadable
  unreadable.info.mtime = core::TimePoint(std::chrono::seconds(100));
  unreadable.info.mode = 0;
  unreadable.errorMessage = "failed to hash /a/f: Permission denied";
  auto e = second->apply(unreadable);
  REQUIRE(e.has_value());
  REQUIRE(e->has_value());
  CHECK(actionsOf(**e) == "attributes_modified");
  CHECK((*e)->file.hashesStale);  // the mapper shows no file.hash beside the new size
  CHECK_FALSE((*e)->previous->hashesStale);
  REQUIRE(second->flush().has_value());
  auto stored = second->lookup("/a/f");
  REQUIRE(stored.has_value());
  CHECK((*stored)->hashesStale);
  CHECK((*stored)->hashes.at(events::HashType::Sha256) == "aa");

  // Still unreadable, only its mode changes: still stale.
  auto again = unreadable;
  again.info.mode = 0200;
  auto chmod = second->apply(again);
  REQUIRE(chmod.has_value());
  REQUIRE(chmod->has_value());
  CHECK((*chmod)->file.hashesStale);

  // Readable again with a content other than the last one read: updated, and fresh digests.
  auto readable = observe("/a/f", "bb");
  readable.info.size = 7;
  readable.info.mtime = unreadable.info.mtime;
  readable.info.mode = 0200;
  auto read = second->apply(readable);
  REQUIRE(read.has_value());
  REQUIRE(read->has_value());
  CHECK(actionsOf(**read) == "updated");
  CHECK_FALSE((*read)->file.hashesStale);
  CHECK((*read)->changedAttributes == std::vector<std::string>{"hash.sha256"});
  REQUIRE(second->flush().has_value());
  auto fresh = second->lookup("/a/f");
  REQUIRE(fresh.has_value());
  CHECK_FALSE((*fresh)->hashesStale);
}

TEST_CASE("baseline: stale digests are never reused for an unchanged stamp, fresh ones are") {
  events::FileInfo f;
  f.type = events::FileType::File;
  f.size = 7;
  f.hashes[events::HashType::Sha256] = "aa";
  const baseline::Wanted wanted{events::FileStamp::hashBit(events::HashType::Sha256), false, 1000, false};
  const auto stamp = events::stampOf(f);
  CHECK(baseline::reusable(stamp, baseline::classify(stamp, stamp), wanted));
  f.hashesStale = true;
  const auto stale = events::stampOf(f);
  CHECK_FALSE(baseline::reusable(stale, baseline::classify(stale, stale), wanted));
}

TEST_CASE("baseline: store failures are errors, not crashes") {
  Fixture fx;
  auto b = fx.start();
  fx.store.failWrites = true;
  std::vector<events::FileEvent> deleted;
  auto swept = b->sweep(deleted);
  CHECK_FALSE(swept.has_value());
}

TEST_CASE("baseline: records under a directory the scan could not read are kept, not reported deleted") {
  Fixture fx;
  {
    auto first = fx.start();
    for (const char* p : {"/a", "/a/locked", "/a/locked/secret", "/a/locked/deeper/x", "/a/gone"}) {
      REQUIRE(first->apply(observe(p, "1")).has_value());
    }
    std::vector<events::FileEvent> deleted;
    REQUIRE(first->sweep(deleted).has_value());
  }
  auto second = fx.start();
  REQUIRE(second->apply(observe("/a", "1")).has_value());
  auto locked = observe("/a/locked", "1");
  locked.errorMessage = "failed to read directory /a/locked: Permission denied";
  locked.childrenUnknown = true;
  REQUIRE(second->apply(locked).has_value());
  std::vector<events::FileEvent> deleted;
  REQUIRE(second->sweep(deleted).has_value());
  REQUIRE(deleted.size() == 1);
  CHECK(deleted[0].file.path == "/a/gone");
  CHECK(second->lookup("/a/locked/deeper/x")->has_value());
}

TEST_CASE("baseline: empty() is exact, so a first run can skip every lookup") {
  Fixture fx;
  auto first = fx.start();
  CHECK(first->empty());
  REQUIRE(first->apply(observe("/a/x", "1")).has_value());
  std::vector<events::FileEvent> deleted;
  REQUIRE(first->sweep(deleted).has_value());
  CHECK_FALSE(fx.start()->empty());
}

TEST_CASE("baseline with a queue: each record and its event are written in the same batch") {
  Fixture fx;
  queue::DurableQueue queue(fx.store, 1 << 20, fx.metrics);
  REQUIRE(queue.open().has_value());
  baseline::Baseline b(fx.store, fx.roots, fx.metrics, fx.clock, &queue);
  REQUIRE(b.open().has_value());

  fx.store.failWrites = true;
  auto e = b.apply(observe("/a/x", "11"));
  REQUIRE(e.has_value());
  CHECK_FALSE(b.flush().has_value());
  fx.store.failWrites = false;
  CHECK(fx.store.count(core::Family::Baseline) == 0);  // neither the record...
  CHECK(fx.store.count(core::Family::Queue) == 0);     // ...nor its event

  const int writesBefore = fx.store.writes;
  REQUIRE(b.apply(observe("/a/x", "11")).has_value());
  REQUIRE(b.apply(observe("/a/y", "22")).has_value());
  REQUIRE(b.flush().has_value());
  CHECK(fx.store.writes == writesBefore + 1);
  CHECK(fx.store.count(core::Family::Baseline) == 2);
  CHECK(fx.store.count(core::Family::Queue) == 2);

  std::vector<events::FileEvent> deleted;
  REQUIRE(b.sweep(deleted).has_value());
  baseline::Baseline second(fx.store, fx.roots, fx.metrics, fx.clock, &queue);
  REQUIRE(second.open().has_value());
  REQUIRE(second.apply(observe("/a/x", "11")).has_value());
  REQUIRE(second.sweep(deleted).has_value());  // /a/y is gone
  REQUIRE(deleted.size() == 1);
  CHECK(deleted[0].sequence == 3);
  CHECK(fx.store.count(core::Family::Baseline) == 1);
  CHECK(fx.store.count(core::Family::Queue) == 3);
  std::vector<events::FileEvent> read;
  REQUIRE(queue.read(read, 10, {}, std::chrono::milliseconds(0)).has_value());
  REQUIRE(read.size() == 3);
  CHECK(read[2].file.path == "/a/y");
  CHECK((read[2].actions == std::vector<events::Action>{events::Action::Deleted}));
}

namespace {

// One run of the baseline stage over these observations, events into `queue`.
void runStage(Fixture& fx, queue::DurableQueue& queue, std::vector<events::Observation>& observations) {
  baseline::Baseline b(fx.store, fx.roots, fx.metrics, fx.clock, &queue);
  REQUIRE(b.open().has_value());
  core::BoundedQueue<events::Observation> in(64);
  for (auto& o : observations) REQUIRE(in.push(std::move(o), {}));
  in.close();
  b.run({}, in);
}

// Successive runs of the baseline stage on one store and queue, with the scan markers at hand.
struct StageRuns {
  Fixture fx;
  queue::DurableQueue queue{fx.store, 1 << 20, fx.metrics};
  static events::Observation started() { return events::ScanStarted{}; }
  const events::Observation done = events::ScanDone{};

  StageRuns() { REQUIRE(queue.open().has_value()); }
  void run(std::vector<events::Observation> observations) { runStage(fx, queue, observations); }
};

}  // namespace

TEST_CASE("baseline: a scan's start is acknowledged once everything observed before it is written") {
  StageRuns runs;
  events::ScanStarted started;
  auto written = started.written->get_future();
  std::jthread stage([&] { runs.run({observe("/a/x", "11"), std::move(started)}); });
  REQUIRE(written.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  stage.join();
  CHECK(runs.fx.store.get(core::Family::Baseline, "/a/x")->has_value());
}

TEST_CASE("baseline: only what is observed after a full scan starts counts as seen by its sweep") {
  StageRuns runs;
  Fixture& fx = runs.fx;
  runs.run({runs.started(), observe("/a/x", "11"), observe("/a/y", "22"), runs.done});
  REQUIRE(fx.store.count(core::Family::Baseline) == 2);
  // /a/y is seen live, then (its deletion lost with an overflowing kernel queue) a rescan starts
  // and no longer finds it: the sweep must delete it.
  runs.run({observe("/a/y", "22"), runs.started(), observe("/a/x", "11"), runs.done});
  CHECK(fx.store.count(core::Family::Baseline) == 1);
  CHECK_FALSE(fx.store.get(core::Family::Baseline, "/a/y")->has_value());
}

TEST_CASE("baseline: paths a scan reports as unchanged, by key, survive its sweep and are not rewritten") {
  StageRuns runs;
  Fixture& fx = runs.fx;
  runs.run({runs.started(), observe("/a/x", "11"), observe("/a/y", "22"), observe("/a/z", "33"), runs.done});
  REQUIRE(fx.store.count(core::Family::Baseline) == 3);
  const auto recordOf = [&](const char* path) { return **fx.store.get(core::Family::Baseline, path); };
  const std::string xBefore = recordOf("/a/x");
  const events::PathsUnchanged unchanged{{core::pathKey("/a/x"), core::pathKey("/a/z")}};
  const std::uint64_t changesBefore = fx.metrics.counter("baseline.changes").value();
  runs.run({runs.started(), unchanged, runs.done});
  CHECK(fx.store.count(core::Family::Baseline) == 2);  // /a/y was not seen: deleted
  CHECK_FALSE(fx.store.get(core::Family::Baseline, "/a/y")->has_value());
  CHECK(recordOf("/a/x") == xBefore);
  CHECK(fx.metrics.counter("baseline.changes").value() == changesBefore);
  CHECK(fx.metrics.counter("baseline.deleted").value() == 1);
}

TEST_CASE("baseline: a record moved to a path that was gone again is left to the running scan's sweep") {
  StageRuns runs;
  Fixture& fx = runs.fx;
  runs.run({runs.started(), observe("/a/x", "11"), observe("/a/keep", "22"), runs.done});
  // x was renamed to y and y deleted; the deletion was lost with an overflow, the rescan runs.
  events::PathMoved moved;
  moved.now.info.path = "/a/y";  // type Unknown: y was gone when the watcher looked
  moved.from = "/a/x";
  runs.run({runs.started(), moved, observe("/a/keep", "22"), runs.done});
  CHECK_FALSE(fx.store.get(core::Family::Baseline, "/a/x")->has_value());
  CHECK_FALSE(fx.store.get(core::Family::Baseline, "/a/y")->has_value());
  CHECK(fx.store.count(core::Family::Baseline) == 1);
}

TEST_CASE("baseline: a record it cannot decode is reported once, counts as none, and never blocks its path") {
  Fixture fx;
  {
    auto first = fx.start();
    for (const char* p : {"/a", "/a/future", "/a/damaged", "/a/gone", "/a/moved", "/a/dir", "/a/dir/child"}) {
      REQUIRE(first->apply(observe(p, "1")).has_value());
    }
    std::vector<events::FileEvent> deleted;
    REQUIRE(first->sweep(deleted).has_value());
  }
  core::WriteBatch damage;
  std::string future = *fx.store.get(core::Family::Baseline, "/a/future").value();
  future[0] = static_cast<char>(baseline::kRecordVersion + 7);  // written by a newer fimbeat
  damage.put(core::Family::Baseline, "/a/future", future);
  damage.put(core::Family::Baseline, "/a/damaged", "\x02garbage");
  damage.put(core::Family::Baseline, "/a/gone", "");
  damage.put(core::Family::Baseline, "/a/moved", "\x02");
  damage.put(core::Family::Baseline, "/a/dir/child", "\x09");
  REQUIRE(fx.store.write(damage).has_value());

  auto second = fx.start();
  auto& undecodable = fx.metrics.counter("baseline.records.undecodable");
  // The next observation of each path is reported (the record says nothing to compare with) and
  // rewrites the record.
  for (const char* p : {"/a/future", "/a/damaged"}) {
    CAPTURE(p);
    auto e = second->apply(observe(p, "2"));
    REQUIRE(e.has_value());
    REQUIRE(e->has_value());
    CHECK(actionsOf(**e) == "created");
    CHECK_FALSE((*e)->previous.has_value());
  }
  REQUIRE(second->flush().has_value());
  CHECK(undecodable.value() == 2);
  for (const char* p : {"/a/future", "/a/damaged"}) {
    auto rewritten = baseline::decodeRecord(p, *fx.store.get(core::Family::Baseline, p).value());
    REQUIRE(rewritten.has_value());
    CHECK(rewritten->hashes.at(events::HashType::Sha256) == "2");
    auto again = second->apply(observe(p, "2"));
    REQUIRE(again.has_value());
    CHECK_FALSE(again->has_value());  // the next look finds it unchanged
  }
  // A move carries what it can: the undecodable child is reported moved and left to be recorded afresh.
  events::PathMoved move{observe("/a/dir2", "1"), "/a/dir"};
  move.now.info.type = events::FileType::Dir;
  std::vector<events::FileEvent> moved;
  REQUIRE(second->applyMove(move, moved).has_value());
  REQUIRE(moved.size() == 2);
  CHECK(moved[1].file.path == "/a/dir2/child");
  CHECK(moved[1].previousPath == "/a/dir/child");
  CHECK_FALSE(fx.store.get(core::Family::Baseline, "/a/dir/child")->has_value());
  CHECK_FALSE(fx.store.get(core::Family::Baseline, "/a/dir2/child")->has_value());
  // A deletion is reported by path.
  const events::PathDeleted removal{"/a/moved", 0, {}};
  std::vector<events::FileEvent> removed;
  REQUIRE(second->applyRemoval(removal, removed).has_value());
  REQUIRE(removed.size() == 1);
  CHECK(removed[0].file.path == "/a/moved");
  CHECK(actionsOf(removed[0]) == "deleted");
  // And a path the scan no longer finds goes at the sweep, its record with it.
  for (const char* p : {"/a", "/a/dir2"}) REQUIRE(second->apply(observe(p, "1")).has_value());
  std::vector<events::FileEvent> swept;
  REQUIRE(second->sweep(swept).has_value());
  std::vector<std::string> gone;
  for (const auto& e : swept) gone.push_back(e.file.path);
  CHECK(gone == std::vector<std::string>{"/a/gone"});
  CHECK_FALSE(fx.store.get(core::Family::Baseline, "/a/gone")->has_value());
  CHECK(undecodable.value() == 5);  // each reported once
  CHECK(second->lookup("/a/gone")->has_value() == false);
}

namespace {

// Approves everything under /a/etc from t=100 s to t=200 s (as the approval store would).
class WindowLookup final : public events::ApprovalLookup {
 public:
  std::optional<events::ApprovalMark> approvalFor(std::string_view path, core::TimePoint at) const override {
    const auto from = core::TimePoint(std::chrono::seconds(100)), to = core::TimePoint(std::chrono::seconds(200));
    if (!core::isWithin(path, "/a/etc") || at < from || at >= to) return std::nullopt;
    return events::ApprovalMark{"0a1b2c3d", "CHG-1", to};
  }
};

events::PathSeen liveAt(const std::string& path, const std::string& sha, int second) {
  auto o = observe(path, sha);
  o.detected = core::TimePoint(std::chrono::seconds(second));
  return o;
}

}  // namespace

TEST_CASE("baseline: during the first scan a path a live event reports is created, one the scan finds initial_scan") {
  Fixture fx;
  auto first = fx.start();
  auto scanned = first->apply(observe("/a/old", "11"));
  REQUIRE(scanned.has_value());
  REQUIRE(scanned->has_value());
  CHECK(actionsOf(**scanned) == "initial_scan");
  // Made while watched, before the first scan's end reached the baseline.
  auto live = first->apply(liveAt("/a/new", "12", 150));
  REQUIRE(live.has_value());
  REQUIRE(live->has_value());
  CHECK(actionsOf(**live) == "created");
}

TEST_CASE("baseline: a change under an approved path, made within the window, carries the approval, others do not") {
  Fixture fx;
  WindowLookup approvals;
  auto first = fx.start();
  first->setApprovals(&approvals);
  auto initial = first->apply(observe("/a/etc/nginx.conf", "11"));
  REQUIRE(initial.has_value());
  REQUIRE(initial->has_value());
  CHECK_FALSE((*initial)->approval.has_value());  // what a first scan finds is not a change
  std::vector<events::FileEvent> none;
  REQUIRE(first->sweep(none).has_value());

  auto b = fx.start();
  b->setApprovals(&approvals);
  auto approved = b->apply(liveAt("/a/etc/nginx.conf", "12", 150));
  REQUIRE(approved.has_value());
  REQUIRE(approved->has_value());
  REQUIRE((*approved)->approval.has_value());
  CHECK((*approved)->approval->id == "0a1b2c3d");
  CHECK((*approved)->approval->reason == "CHG-1");
  auto elsewhere = b->apply(liveAt("/a/etcetera", "13", 150));
  REQUIRE(elsewhere.has_value());
  REQUIRE(elsewhere->has_value());
  CHECK_FALSE((*elsewhere)->approval.has_value());
  auto late = b->apply(liveAt("/a/etc/nginx.conf", "14", 200));  // at the expiry: no longer approved
  REQUIRE(late.has_value());
  REQUIRE(late->has_value());
  CHECK_FALSE((*late)->approval.has_value());
  auto early = b->apply(liveAt("/a/etc/other.conf", "15", 99));  // before the approval existed
  REQUIRE(early.has_value());
  REQUIRE(early->has_value());
  CHECK_FALSE((*early)->approval.has_value());
}
