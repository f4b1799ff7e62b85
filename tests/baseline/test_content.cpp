// diff.enabled in the baseline: the unified diff (libgit2), the kept contents (zlib, their own
// column family, storage limit with the oldest dropped first) and their write with the record
// and the event in one batch.

#include <doctest/doctest.h>

#include "baseline/baseline.h"
#include "baseline/content_diff.h"
#include "baseline/content_store.h"
#include "queue/durable_queue.h"
#include "support/forwarding_store.h"
#include "support/memory_store.h"

using namespace fim;

namespace {

events::PathSeen textFile(const std::string& path, const std::string& text, std::size_t root = 0) {
  events::PathSeen o;
  o.info.path = path;
  o.info.type = events::FileType::File;
  o.info.size = text.size();
  o.info.mode = 0644;
  o.info.hashes[events::HashType::Sha256] = std::to_string(std::hash<std::string>{}(text));
  o.root = root;
  o.contentChecked = true;
  o.text = text;
  return o;
}

std::size_t contentKeys(testing::MemoryStore& store) {
  std::size_t n = 0;
  (void)store.scan(core::Family::Content, "", [&](std::string_view, std::string_view) { return ++n > 0; });
  return n;
}

// Refuses every write after the first `allowed`.
struct FailingStore : testing::ForwardingStore {
  int allowed = 1000;
  core::Status write(const core::WriteBatch& batch) override {
    if (allowed-- <= 0) return core::fail(core::ErrorCode::Io, "disk on fire");
    return inner.write(batch);
  }
};

}  // namespace

TEST_CASE("content diff: unified, with context, cut at the limit with a marker, nothing when equal") {
  baseline::ContentDiffer differ;
  const std::string before = "a\nb\nc\nd\ne\nf\ng\nh\n";
  const std::string after = "a\nb\nc\nd\nE\nf\ng\nh\nadded\n";
  const std::string diff = differ.diff(before, after, "/etc/x.conf", 0);
  CHECK(diff ==
        "--- /etc/x.conf\n+++ /etc/x.conf\n"
        "@@ -2,7 +2,8 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n+added\n");
  CHECK(differ.diff(before, before, "/etc/x.conf", 0).empty());
  // No newline at the end: every line still ends with one in the diff.
  CHECK(differ.diff("x", "y", "/f", 0) == "--- /f\n+++ /f\n@@ -1 +1 @@\n-x\n+y\n");

  std::string big, bigger;
  for (int i = 0; i < 400; ++i) {
    big += "line " + std::to_string(i) + "\n";
    bigger += "LINE " + std::to_string(i) + "\n";
  }
  const std::string full = differ.diff(big, bigger, "/f", 0);
  const std::string cut = differ.diff(big, bigger, "/f", 1024);
  CHECK(cut.size() <= 1024);
  CHECK(cut.ends_with(baseline::truncationMarker(full.size())));
  CHECK(full.starts_with(cut.substr(0, cut.size() - baseline::truncationMarker(full.size()).size())));
}

TEST_CASE("content store: compressed copies, the oldest dropped first past max_storage, counted") {
  testing::MemoryStore store;
  core::Metrics metrics;
  baseline::ContentStore contents(store, 600, metrics);
  REQUIRE(contents.open([](std::string_view) { return true; }).has_value());
  std::string text(2000, 'x');  // compresses well: about 30 bytes stored
  const auto putOne = [&](const std::string& path, const std::string& t) {
    core::WriteBatch batch;
    auto previous = contents.load(path);
    REQUIRE(previous.has_value());
    contents.put(batch, path, t, *previous);
    REQUIRE(store.write(batch).has_value());
    contents.written();
  };
  putOne("/a/1", text);
  auto loaded = contents.load("/a/1");
  REQUIRE(loaded.has_value());
  REQUIRE(loaded->has_value());
  CHECK((*loaded)->text == text);
  CHECK((*loaded)->size < 100);

  // Copies that do not compress: a few fill the 600 bytes; each new one pushes out the oldest.
  const auto noise = [](int seed) {
    std::string s;
    std::uint32_t x = static_cast<std::uint32_t>(seed) * 2654435761u + 1;
    for (int i = 0; i < 200; ++i) {
      x = x * 1103515245u + 12345u;
      s.push_back(static_cast<char>('!' + (x >> 16) % 90));
    }
    return s;
  };
  for (int i = 2; i <= 6; ++i) putOne("/a/" + std::to_string(i), noise(i));
  CHECK(contents.storedBytes() <= 600);
  CHECK(metrics.counter("baseline.diff.evicted").value() >= 3);
  CHECK_FALSE(contents.load("/a/1")->has_value());  // the oldest went first
  CHECK_FALSE(contents.load("/a/2")->has_value());
  CHECK(contents.load("/a/6")->has_value());        // the newest stays
  CHECK(metrics.gauge("baseline.diff.stored_bytes").value() == static_cast<std::int64_t>(contents.storedBytes()));

  // Replacing a copy refreshes its age: /a/5 rewritten is now newer than /a/6.
  putOne("/a/5", noise(55));
  putOne("/a/7", noise(7));
  CHECK(contents.load("/a/5")->has_value());

  // Larger than the whole storage: not kept, counted.
  putOne("/a/huge", noise(1) + noise(2) + noise(3) + noise(4));
  CHECK_FALSE(contents.load("/a/huge")->has_value());
  CHECK(metrics.counter("baseline.diff.too_large").value() == 1);

  // A restart reads the total again, and drops what no module diffs any more.
  const auto total = contents.storedBytes();
  baseline::ContentStore again(store, 600, metrics);
  REQUIRE(again.open([](std::string_view path) { return path != "/a/7"; }).has_value());
  CHECK(again.storedBytes() < total);
  CHECK_FALSE(again.load("/a/7")->has_value());
  CHECK(again.load("/a/5")->has_value());
}

TEST_CASE("content store: a directory's copies move and go with it, another format is dropped") {
  testing::MemoryStore store;
  core::Metrics metrics;
  baseline::ContentStore contents(store, 1 << 20, metrics);
  REQUIRE(contents.open([](std::string_view) { return true; }).has_value());
  core::WriteBatch batch;
  contents.put(batch, "/d/x", "x\n", std::nullopt);
  contents.put(batch, "/d/sub/y", "y\n", std::nullopt);
  contents.put(batch, "/dx", "not under /d\n", std::nullopt);
  REQUIRE(store.write(batch).has_value());
  contents.written();
  batch.clear();
  REQUIRE(contents.moveTree(batch, "/d", "/e").has_value());
  REQUIRE(store.write(batch).has_value());
  contents.written();
  CHECK_FALSE(contents.load("/d/x")->has_value());
  CHECK((*contents.load("/e/sub/y"))->text == "y\n");
  CHECK((*contents.load("/dx"))->text == "not under /d\n");
  batch.clear();
  REQUIRE(contents.removeTree(batch, "/e").has_value());
  REQUIRE(store.write(batch).has_value());
  contents.written();
  CHECK_FALSE(contents.load("/e/x")->has_value());
  CHECK(contents.load("/dx")->has_value());
  CHECK(contentKeys(store) == 2);  // "/dx": its copy and its age key

  core::WriteBatch future;
  future.put(core::Family::Meta, baseline::kContentFormatKey, "99");
  REQUIRE(store.write(future).has_value());
  baseline::ContentStore newer(store, 1 << 20, metrics);
  REQUIRE(newer.open([](std::string_view) { return true; }).has_value());
  CHECK(contentKeys(store) == 0);
  CHECK(*store.get(core::Family::Meta, baseline::kContentFormatKey).value() == "1");
}

TEST_CASE("baseline with contents: stored with the record, an update carries the diff, binary drops the copy") {
  testing::MemoryStore store;
  core::Metrics metrics;
  core::SystemClock clock;
  baseline::ContentStore contents(store, 1 << 20, metrics);
  REQUIRE(contents.open([](std::string_view) { return true; }).has_value());
  baseline::Baseline b(store, {{"/etc", 0}}, metrics, clock);
  b.keepContents(contents, {4096});
  REQUIRE(b.open().has_value());

  auto first = b.apply(textFile("/etc/app.conf", "port = 80\nname = web\n"));
  REQUIRE(first.has_value());
  REQUIRE(first->has_value());
  CHECK_FALSE((*first)->diff.has_value());  // initial_scan: nothing to diff against
  std::vector<events::FileEvent> none;
  REQUIRE(b.sweep(none).has_value());

  auto second = b.apply(textFile("/etc/app.conf", "port = 8080\nname = web\n"));
  REQUIRE(second.has_value());
  REQUIRE(second->has_value());
  REQUIRE((*second)->diff.has_value());
  CHECK(*(*second)->diff == "--- /etc/app.conf\n+++ /etc/app.conf\n@@ -1,2 +1,2 @@\n-port = 80\n+port = 8080\n name = web\n");
  REQUIRE(b.flush().has_value());

  // Turned binary: no diff, and the copy goes with the record's write.
  auto binary = textFile("/etc/app.conf", "x");
  binary.info.hashes[events::HashType::Sha256] = "binary";
  binary.text.reset();
  auto third = b.apply(binary);
  REQUIRE(third.has_value());
  REQUIRE(third->has_value());
  CHECK_FALSE((*third)->diff.has_value());
  REQUIRE(b.flush().has_value());
  CHECK_FALSE(contents.load("/etc/app.conf")->has_value());

  // Deleted: the copy goes with the record.
  REQUIRE(b.flush().has_value());
  (void)b.apply(textFile("/etc/other.conf", "a\n"));
  REQUIRE(b.flush().has_value());
  CHECK(contents.load("/etc/other.conf")->has_value());
  std::vector<events::FileEvent> events;
  REQUIRE(b.applyRemoval(events::PathDeleted{"/etc/other.conf", 0, std::nullopt, std::nullopt}, events).has_value());
  CHECK(events.size() == 1);
  CHECK_FALSE(contents.load("/etc/other.conf")->has_value());
}

TEST_CASE("baseline with contents: the copy, the record and the event are one write: all or nothing") {
  FailingStore store;
  core::Metrics metrics;
  core::SystemClock clock;
  baseline::ContentStore contents(store, 1 << 20, metrics);
  REQUIRE(contents.open([](std::string_view) { return true; }).has_value());
  queue::DurableQueue queue(store, 1 << 20, metrics);
  REQUIRE(queue.open().has_value());
  baseline::Baseline b(store, {{"/etc", 0}}, metrics, clock, &queue);
  b.keepContents(contents, {4096});
  REQUIRE(b.open().has_value());
  (void)b.apply(textFile("/etc/app.conf", "v1\n"));
  std::vector<events::FileEvent> none;
  REQUIRE(b.sweep(none).has_value());
  const auto queued = queue.events();

  store.allowed = 0;  // the write of the update fails (a crash before it is the same: nothing written)
  auto update = b.apply(textFile("/etc/app.conf", "v2\n"));
  REQUIRE(update.has_value());
  CHECK_FALSE(b.flush().has_value());
  CHECK((*contents.load("/etc/app.conf"))->text == "v1\n");  // neither the copy...
  CHECK(queue.events() == queued);                           // ...nor the event
  auto record = b.lookup("/etc/app.conf");
  REQUIRE(record.has_value());
  CHECK((*record)->size == 3u);

  store.allowed = 1000;  // the same change seen again (the rescan after a restart): diffed against v1
  auto again = b.apply(textFile("/etc/app.conf", "v2\n"));
  REQUIRE(again.has_value());
  REQUIRE(again->has_value());
  REQUIRE((*again)->diff.has_value());
  CHECK((*again)->diff->find("-v1\n+v2\n") != std::string::npos);
  REQUIRE(b.flush().has_value());
  CHECK((*contents.load("/etc/app.conf"))->text == "v2\n");
  CHECK(queue.events() == queued + 1);
}
