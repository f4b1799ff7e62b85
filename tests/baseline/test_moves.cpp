// Realtime changes in the baseline: deletions of files and subtrees, moves of files and of
// directories (records rekeyed, never rehashed), subtree sweeps.

#include <doctest/doctest.h>

#include <algorithm>

#include "baseline/baseline.h"
#include "support/memory_store.h"

using namespace fim;

namespace {

events::PathSeen file(const std::string& path, const std::string& sha, std::uint64_t inode = 1) {
  events::PathSeen o;
  o.info.path = path;
  o.info.type = events::FileType::File;
  o.info.size = sha.size();
  o.info.inode = inode;
  o.info.mode = 0644;
  o.info.hashes[events::HashType::Sha256] = sha;
  return o;
}

events::PathSeen dir(const std::string& path, std::uint64_t inode) {
  events::PathSeen o;
  o.info.path = path;
  o.info.type = events::FileType::Dir;
  o.info.inode = inode;
  o.info.mode = 0755;
  return o;
}

events::PathMoved moved(events::PathSeen now, const std::string& from) { return events::PathMoved{std::move(now), from}; }

events::PathDeleted deleted(const std::string& path) { return events::PathDeleted{path, 0, {}}; }

events::SubtreeDone subtreeDone(const std::string& path) { return events::SubtreeDone{path, 0}; }

std::string actionsOf(const events::FileEvent& e) {
  std::string out;
  for (auto a : e.actions) out += std::string(out.empty() ? "" : ",") + events::toString(a);
  return out;
}

struct Fixture {
  testing::MemoryStore store;
  core::Metrics metrics;
  core::SystemClock clock;
  baseline::Baseline base{store, {{"/w", 0}}, metrics, clock};

  Fixture() {
    REQUIRE(base.open().has_value());
    std::vector<events::FileEvent> none;
    REQUIRE(base.sweep(none).has_value());  // the root is known: new paths are "created"
  }

  void put(const events::PathSeen& o) { REQUIRE(base.apply(o).has_value()); }

  std::vector<events::FileEvent> realtime(const events::PathMoved& o) {
    std::vector<events::FileEvent> events;
    CHECK(base.applyMove(o, events).has_value());
    return events;
  }
  std::vector<events::FileEvent> realtime(const events::PathDeleted& o) {
    std::vector<events::FileEvent> events;
    CHECK(base.applyRemoval(o, events).has_value());
    return events;
  }
  std::vector<events::FileEvent> realtime(const events::SubtreeDone& o) {
    std::vector<events::FileEvent> events;
    CHECK(base.sweepSubtree(o, events).has_value());
    return events;
  }

  std::optional<events::FileInfo> at(const std::string& path) {
    auto found = base.lookup(path);
    REQUIRE(found.has_value());
    return *found;
  }
};

}  // namespace

TEST_CASE("moves: a renamed file is one moved event on the new path, its record moves with it") {
  Fixture fx;
  fx.put(file("/w/a", "aa", 7));
  auto events = fx.realtime(moved(file("/w/b", "aa", 7), "/w/a"));
  REQUIRE(events.size() == 1);
  CHECK(actionsOf(events[0]) == "moved");
  CHECK(events[0].file.path == "/w/b");
  CHECK(events[0].previousPath == std::optional<std::string>("/w/a"));
  CHECK(events[0].changedAttributes.empty());
  CHECK_FALSE(fx.at("/w/a").has_value());
  REQUIRE(fx.at("/w/b").has_value());
  CHECK(fx.at("/w/b")->hashes.at(events::HashType::Sha256) == "aa");
}

TEST_CASE("moves: content changed on the way is reported with the move") {
  Fixture fx;
  fx.put(file("/w/a", "aa", 7));
  auto events = fx.realtime(moved(file("/w/b", "bbb", 7), "/w/a"));
  REQUIRE(events.size() == 1);
  CHECK(actionsOf(events[0]) == "moved,updated,attributes_modified");
  CHECK(std::find(events[0].changedAttributes.begin(), events[0].changedAttributes.end(), "hash.sha256") !=
        events[0].changedAttributes.end());
}

TEST_CASE("moves: a rename over an existing file replaces its record") {
  Fixture fx;
  fx.put(file("/w/a", "aa", 7));
  fx.put(file("/w/b", "bb", 8));
  auto events = fx.realtime(moved(file("/w/b", "aa", 7), "/w/a"));
  REQUIRE(events.size() == 1);
  CHECK(fx.store.count(core::Family::Baseline) == 1);
  CHECK(fx.at("/w/b")->inode == 7);
}

TEST_CASE("moves: a directory rename moves every record under it without touching siblings") {
  Fixture fx;
  fx.put(dir("/w/d", 1));
  fx.put(file("/w/d/x", "xx", 2));
  fx.put(dir("/w/d/sub", 3));
  fx.put(file("/w/d/sub/y", "yy", 4));
  fx.put(file("/w/d2", "zz", 5));  // shares the prefix "/w/d" but is not under it
  auto events = fx.realtime(moved(dir("/w/e", 1), "/w/d"));
  REQUIRE(events.size() == 4);
  for (const auto& e : events) {
    CHECK(actionsOf(e) == "moved");
    REQUIRE(e.previousPath.has_value());
    CHECK(e.file.path == "/w/e" + e.previousPath->substr(4));
  }
  CHECK(fx.at("/w/e/sub/y")->hashes.at(events::HashType::Sha256) == "yy");
  CHECK(fx.at("/w/e/sub/y")->path == "/w/e/sub/y");
  CHECK_FALSE(fx.at("/w/d/x").has_value());
  CHECK(fx.at("/w/d2").has_value());
  CHECK(fx.store.count(core::Family::Baseline) == 5);
}

TEST_CASE("moves: a move from a path the baseline never knew is a creation") {
  Fixture fx;
  auto events = fx.realtime(moved(file("/w/b", "aa"), "/w/a"));
  REQUIRE(events.size() == 1);
  CHECK(actionsOf(events[0]) == "created");
  CHECK_FALSE(events[0].previousPath.has_value());
  CHECK(fx.realtime(deleted("/w/b")).size() == 1);  // recorded (once flushed)
}

TEST_CASE("moves: deleting a path removes its record, a directory takes its subtree with it") {
  Fixture fx;
  fx.put(dir("/w/d", 1));
  fx.put(file("/w/d/x", "xx", 2));
  fx.put(file("/w/dx", "yy", 3));
  auto events = fx.realtime(deleted("/w/d"));
  REQUIRE(events.size() == 2);
  for (const auto& e : events) CHECK(actionsOf(e) == "deleted");
  CHECK(events[1].file.hashes.at(events::HashType::Sha256) == "xx");  // the last known state is reported
  CHECK(fx.store.count(core::Family::Baseline) == 1);
  CHECK(fx.realtime(deleted("/w/d")).empty());  // already gone: nothing
}

TEST_CASE("moves: a deletion sees a record apply() has not flushed yet") {
  Fixture fx;
  fx.put(file("/w/new", "nn"));  // pending in the write batch
  auto events = fx.realtime(deleted("/w/new"));
  REQUIRE(events.size() == 1);
  CHECK(fx.store.count(core::Family::Baseline) == 0);
}

TEST_CASE("moves: a subtree sweep deletes what the subtree rescan did not see, nothing outside it") {
  Fixture fx;
  fx.put(file("/w/s/a", "aa"));
  fx.put(file("/w/s/b", "bb"));
  fx.put(file("/w/t", "tt"));
  std::vector<events::FileEvent> none;
  REQUIRE(fx.base.sweep(none).has_value());  // a full scan saw all three; the seen set starts over
  REQUIRE(fx.base.apply(file("/w/s/a", "aa")).has_value());
  auto events = fx.realtime(subtreeDone("/w/s"));
  REQUIRE(events.size() == 1);
  CHECK(events[0].file.path == "/w/s/b");
  CHECK(fx.at("/w/t").has_value());
}

TEST_CASE("moves: a failing store reports the error and emits nothing") {
  Fixture fx;
  fx.put(file("/w/a", "aa", 7));
  std::vector<events::FileEvent> flushed;
  REQUIRE(fx.base.sweepSubtree(subtreeDone("/none"), flushed).has_value());
  fx.store.failWrites = true;
  std::vector<events::FileEvent> events;
  CHECK_FALSE(fx.base.applyMove(moved(file("/w/b", "aa", 7), "/w/a"), events).has_value());
  CHECK(events.empty());
  CHECK_FALSE(fx.base.applyRemoval(deleted("/w/a"), events).has_value());
  CHECK(events.empty());
}

TEST_CASE("moves: a move whose new path was gone before it could be read moves the record as it was") {
  Fixture fx;
  fx.put(file("/w/a", "aa", 7));
  events::PathSeen unread;
  unread.info.path = "/w/b";  // type Unknown: not read
  auto events = fx.realtime(moved(unread, "/w/a"));
  REQUIRE(events.size() == 1);
  CHECK(actionsOf(events[0]) == "moved");
  CHECK(events[0].file.hashes.at(events::HashType::Sha256) == "aa");
  CHECK(events[0].file.path == "/w/b");
  auto next = fx.realtime(moved(file("/w/c", "aa", 7), "/w/b"));  // renamed on: still paired
  REQUIRE(next.size() == 1);
  CHECK(actionsOf(next[0]) == "moved");
}
