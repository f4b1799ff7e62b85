// The coalescer with a fake clock: write bursts, quiet periods, rename pairing, move-outs.

#include <doctest/doctest.h>

#include "watcher/realtime/coalescer.h"

using namespace fim;
using watcher::Coalescer;
using watcher::RawChange;
using watcher::Settled;
using namespace std::chrono_literals;

namespace {

RawChange change(RawChange::Kind kind, std::string path, std::uint32_t cookie = 0, bool isDirectory = false) {
  RawChange c;
  c.kind = kind;
  c.path = std::move(path);
  c.cookie = cookie;
  c.isDirectory = isDirectory;
  return c;
}

std::string describe(const std::vector<Settled>& settled) {
  std::string out;
  for (const auto& s : settled) {
    if (!out.empty()) out += " ";
    switch (s.kind) {
      case Settled::Kind::Observe: out += "observe:" + s.path; break;
      case Settled::Kind::Delete: out += "delete:" + s.path; break;
      case Settled::Kind::Move: out += "move:" + s.oldPath + ">" + s.path; break;
      case Settled::Kind::Rescan: out += "rescan:" + s.path; break;
      case Settled::Kind::Unwatched: out += "unwatched:" + s.path; break;
      case Settled::Kind::Unresolved: out += "unresolved:" + s.path; break;
    }
  }
  return out;
}

struct Fixture {
  Coalescer coalescer{Coalescer::Options{1000ms, 10000ms, 100ms}};
  Coalescer::TimePoint now{};  // the fake clock
  std::vector<Settled> out;

  void feed(RawChange c) { coalescer.add(std::move(c), now, out); }
  std::string advance(std::chrono::milliseconds by) {
    now += by;
    coalescer.due(now, out);
    return take();
  }
  std::string take() {
    auto text = describe(out);
    out.clear();
    return text;
  }
};

}  // namespace

TEST_CASE("coalescer: a burst of writes ending in a close is one look, at the close") {
  Fixture fx;
  fx.feed(change(RawChange::Kind::Created, "/w/f"));
  for (int i = 0; i < 100; ++i) fx.feed(change(RawChange::Kind::Modified, "/w/f"));
  fx.feed(change(RawChange::Kind::Attributes, "/w/f"));  // while open for writing: waits for the close
  CHECK(fx.take().empty());
  CHECK(fx.coalescer.pending() == 1);
  fx.feed(change(RawChange::Kind::Closed, "/w/f"));
  CHECK(fx.take() == "observe:/w/f");
  CHECK(fx.coalescer.pending() == 0);
  CHECK(fx.advance(5s).empty());  // nothing left behind in the schedule
  CHECK_FALSE(fx.coalescer.nextDue().has_value());
}

TEST_CASE("coalescer: a file held open is looked at after the quiet period since its last write") {
  Fixture fx;
  fx.feed(change(RawChange::Kind::Modified, "/w/log"));
  CHECK(fx.advance(600ms).empty());
  fx.feed(change(RawChange::Kind::Modified, "/w/log"));  // restarts the quiet period
  CHECK(fx.advance(600ms).empty());
  REQUIRE(fx.coalescer.nextDue().has_value());
  CHECK((*fx.coalescer.nextDue() == fx.now + 400ms));
  CHECK(fx.advance(400ms) == "observe:/w/log");
}

TEST_CASE("coalescer: a file written without pause is still looked at after the maximum delay") {
  Fixture fx;
  std::string seen;
  for (int i = 0; i < 120 && seen.empty(); ++i) {
    fx.feed(change(RawChange::Kind::Modified, "/w/busy"));
    seen = fx.advance(100ms);
  }
  CHECK(seen == "observe:/w/busy");
  CHECK(fx.now <= Coalescer::TimePoint{} + 10100ms);
}

TEST_CASE("coalescer: a per-module quiet period overrides the default") {
  Fixture fx;
  fx.coalescer.add(change(RawChange::Kind::Modified, "/w/f"), fx.now, fx.out, 50ms);
  CHECK(fx.advance(50ms) == "observe:/w/f");
}

TEST_CASE("coalescer: attribute changes and closes of idle files are looked at at once") {
  Fixture fx;
  fx.feed(change(RawChange::Kind::Attributes, "/w/f"));
  fx.feed(change(RawChange::Kind::Closed, "/w/g"));
  fx.feed(change(RawChange::Kind::Created, "/w/d", 0, true));
  CHECK(fx.take() == "observe:/w/f observe:/w/g observe:/w/d");
}

TEST_CASE("coalescer: moved-from and moved-to with one cookie are one move, pending writes follow it") {
  Fixture fx;
  fx.feed(change(RawChange::Kind::Modified, "/w/a"));
  fx.feed(change(RawChange::Kind::MovedFrom, "/w/a", 7));
  CHECK(fx.take().empty());
  fx.feed(change(RawChange::Kind::MovedTo, "/w/b", 7));
  CHECK(fx.take() == "move:/w/a>/w/b");
  CHECK(fx.advance(2s).empty());  // the write before the move is covered by the move's look
  CHECK(fx.coalescer.paired() == 1);
}

TEST_CASE("coalescer: a moved directory takes its children's pending writes to the new path") {
  Fixture fx;
  fx.feed(change(RawChange::Kind::Modified, "/w/d/f"));
  fx.feed(change(RawChange::Kind::Modified, "/w/dx"));  // a sibling sharing the prefix stays
  fx.feed(change(RawChange::Kind::MovedFrom, "/w/d", 3, true));
  fx.feed(change(RawChange::Kind::MovedTo, "/w/e", 3, true));
  CHECK(fx.take() == "move:/w/d>/w/e");
  CHECK(fx.advance(1s) == "observe:/w/dx observe:/w/e/f");
}

TEST_CASE("coalescer: an unpaired moved-from is a deletion after the pairing window") {
  Fixture fx;
  fx.feed(change(RawChange::Kind::MovedFrom, "/w/gone", 9, true));
  CHECK(fx.advance(99ms).empty());
  CHECK(fx.advance(1ms) == "delete:/w/gone");
  CHECK(fx.coalescer.unpaired() == 1);
}

TEST_CASE("coalescer: an unpaired moved-to is a new path") {
  Fixture fx;
  fx.feed(change(RawChange::Kind::MovedTo, "/w/in", 5));
  CHECK(fx.take() == "observe:/w/in");
}

TEST_CASE("coalescer: a new path where a moved-out one waits reports the move-out first") {
  Fixture fx;
  fx.feed(change(RawChange::Kind::MovedFrom, "/w/d", 4, true));
  fx.feed(change(RawChange::Kind::Created, "/w/d", 0, true));
  CHECK(fx.take() == "delete:/w/d observe:/w/d");
  CHECK(fx.advance(1s).empty());
}

TEST_CASE("coalescer: a deletion drops the pending writes of the path and, for a directory, below it") {
  Fixture fx;
  fx.feed(change(RawChange::Kind::Modified, "/w/d/f"));
  fx.feed(change(RawChange::Kind::Modified, "/w/d/sub/g"));
  fx.feed(change(RawChange::Kind::Deleted, "/w/d", 0, true));
  CHECK(fx.take() == "delete:/w/d");
  CHECK(fx.coalescer.pending() == 0);
  CHECK(fx.advance(2s).empty());
}

TEST_CASE("coalescer: both ends known at once (fanotify), overflows and unwatched directories pass straight on") {
  Fixture fx;
  RawChange renamed = change(RawChange::Kind::Renamed, "/w/new");
  renamed.oldPath = "/w/old";
  fx.feed(renamed);
  fx.feed(change(RawChange::Kind::Overflow, ""));
  fx.feed(change(RawChange::Kind::Unwatched, "/w/deep"));
  CHECK(fx.take() == "move:/w/old>/w/new rescan: unwatched:/w/deep");
}

TEST_CASE("coalescer: repeated open-write-close cycles are one look at the first close and one at the end") {
  Fixture fx;
  fx.feed(change(RawChange::Kind::Closed, "/w/f"));
  CHECK(fx.take() == "observe:/w/f");
  for (int i = 0; i < 50; ++i) {
    fx.feed(change(RawChange::Kind::Modified, "/w/f"));
    fx.feed(change(RawChange::Kind::Closed, "/w/f"));
    CHECK(fx.advance(5ms).empty());
  }
  CHECK(fx.advance(1s) == "observe:/w/f");
  CHECK(fx.advance(5s).empty());
  fx.feed(change(RawChange::Kind::Closed, "/w/f"));  // long after: at once again
  CHECK(fx.take() == "observe:/w/f");
}
