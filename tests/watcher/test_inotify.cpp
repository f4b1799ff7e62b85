// InotifyBackend on the real kernel: what it reports for mkdir + immediate writes, renames,
// moved-out trees and excluded directories, and which watches it holds.

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "support/temp_dir.h"
#include "watcher/inotify/inotify_backend.h"
#include "watcher/realtime/backend_selection.h"

using namespace fim;
using watcher::RawChange;
namespace fs = std::filesystem;

namespace {

constexpr auto kDeadline = std::chrono::seconds(10);

const char* kindName(RawChange::Kind kind) {
  switch (kind) {
    case RawChange::Kind::Modified: return "modified";
    case RawChange::Kind::Attributes: return "attributes";
    case RawChange::Kind::Closed: return "closed";
    case RawChange::Kind::Created: return "created";
    case RawChange::Kind::Deleted: return "deleted";
    case RawChange::Kind::MovedFrom: return "moved_from";
    case RawChange::Kind::MovedTo: return "moved_to";
    case RawChange::Kind::Renamed: return "renamed";
    case RawChange::Kind::Overflow: return "overflow";
    case RawChange::Kind::Unwatched: return "unwatched";
    case RawChange::Kind::Unresolved: return "unresolved";
  }
  return "?";
}

// Runs a backend on its own thread and collects what it reports.
struct Running {
  testing::TempDir dir;
  core::Metrics metrics;
  std::vector<config::ModuleConfig> modules;
  std::unique_ptr<watcher::InotifyBackend> backend;
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<RawChange> seen;
  std::jthread thread;

  explicit Running(std::vector<std::string> exclude = {}, bool recursive = true) {
    config::ModuleConfig m;
    m.paths = {dir.str()};
    m.recursive = recursive;
    m.excludeFiles = std::move(exclude);
    modules.push_back(m);
  }

  void start() {
    backend = std::make_unique<watcher::InotifyBackend>(modules, metrics);
    REQUIRE(backend->start({watcher::Root{dir.str(), 0, modules[0].recursive}}).has_value());
    thread = std::jthread([this](std::stop_token stop) {
      backend->run(stop, [this](RawChange&& c) {
        std::lock_guard lock(mutex);
        seen.push_back(std::move(c));
        changed.notify_all();
      });
    });
  }

  std::string path(const std::string& relative) const { return (dir.path() / relative).string(); }

  // Waits (with a deadline) until a change of `kind` for `relative` has been reported.
  bool waitFor(RawChange::Kind kind, const std::string& relative) {
    const std::string want = path(relative);
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, kDeadline, [&] {
      for (const auto& c : seen) {
        if (c.kind == kind && c.path == want) return true;
      }
      return false;
    });
  }

  std::vector<std::string> reported(const std::string& relative) {
    const std::string want = path(relative);
    std::lock_guard lock(mutex);
    std::vector<std::string> kinds;
    for (const auto& c : seen) {
      if (c.path == want) kinds.emplace_back(kindName(c.kind));
    }
    return kinds;
  }

  std::size_t watches() { return static_cast<std::size_t>(metrics.gauge("watcher.realtime.watches").value()); }
};

bool has(const std::vector<std::string>& v, const char* what) { return std::find(v.begin(), v.end(), what) != v.end(); }

}  // namespace

TEST_CASE("inotify: watches every directory of a recursive root, none for files or excluded directories") {
  Running r({"/skip$"});
  r.dir.write("a/b/c/file", "x");
  r.dir.write("skip/inner/file", "x");
  r.start();
  CHECK(r.watches() == 4);  // root, a, a/b, a/b/c
  r.dir.write("skip/inner/new", "x");
  r.dir.write("a/marker", "m");
  REQUIRE(r.waitFor(RawChange::Kind::Closed, "a/marker"));
  CHECK(r.reported("skip/inner/new").empty());
}

TEST_CASE("inotify: a non-recursive root watches only itself, new subdirectories are reported, not entered") {
  Running r({}, false);
  r.dir.write("sub/file", "x");
  r.start();
  CHECK(r.watches() == 1);
  fs::create_directory(r.path("newdir"));
  REQUIRE(r.waitFor(RawChange::Kind::Created, "newdir"));
  r.dir.write("newdir/inside", "x");
  r.dir.write("marker", "m");
  REQUIRE(r.waitFor(RawChange::Kind::Closed, "marker"));
  CHECK(r.reported("newdir/inside").empty());
  CHECK(r.watches() == 1);
}

TEST_CASE("inotify: files written right after mkdir are reported, whether before or after the watch") {
  Running r;
  r.start();
  for (int i = 0; i < 20; ++i) {
    const std::string d = "burst" + std::to_string(i) + "/deeper";
    fs::create_directories(r.path(d));
    r.dir.write(d + "/f", "content");
  }
  for (int i = 0; i < 20; ++i) {
    const std::string f = "burst" + std::to_string(i) + "/deeper/f";
    CAPTURE(f);
    // Either the watch saw the create, or the read of the new directory found the file.
    CHECK(r.waitFor(RawChange::Kind::Created, f));
  }
  CHECK(r.watches() == 41);
}

TEST_CASE("inotify: a rename inside the tree is a moved-from and a moved-to with one cookie") {
  Running r;
  r.dir.write("old", "x");
  r.start();
  fs::rename(r.path("old"), r.path("new"));
  REQUIRE(r.waitFor(RawChange::Kind::MovedTo, "new"));
  std::lock_guard lock(r.mutex);
  std::uint32_t from = 0, to = 0;
  for (const auto& c : r.seen) {
    if (c.kind == RawChange::Kind::MovedFrom) from = c.cookie;
    if (c.kind == RawChange::Kind::MovedTo) to = c.cookie;
  }
  CHECK(from != 0);
  CHECK(from == to);
}

TEST_CASE("inotify: watches follow a renamed directory and leave with a moved-out one") {
  testing::TempDir outside;
  Running r;
  r.dir.write("d/sub/f", "x");
  r.start();
  CHECK(r.watches() == 3);
  fs::rename(r.path("d"), r.path("e"));
  REQUIRE(r.waitFor(RawChange::Kind::MovedTo, "e"));
  r.dir.write("e/sub/after-rename", "x");
  REQUIRE(r.waitFor(RawChange::Kind::Closed, "e/sub/after-rename"));  // reported under the new name
  fs::rename(r.path("e"), outside.path() / "e");
  REQUIRE(r.waitFor(RawChange::Kind::MovedFrom, "e"));
  r.dir.write("marker", "m");
  REQUIRE(r.waitFor(RawChange::Kind::Closed, "marker"));
  CHECK(r.watches() == 1);
  outside.write("e/sub/out-there", "x");  // no longer watched: nothing reported from outside
  r.dir.write("marker2", "m");
  REQUIRE(r.waitFor(RawChange::Kind::Closed, "marker2"));
  std::lock_guard lock(r.mutex);
  for (const auto& c : r.seen) CHECK(c.path.find("out-there") == std::string::npos);
}

TEST_CASE("inotify: a moved-in directory is watched and its contents reported") {
  testing::TempDir outside;
  outside.write("tree/a/file", "x");
  Running r;
  r.start();
  fs::rename(outside.path() / "tree", r.path("tree"));
  REQUIRE(r.waitFor(RawChange::Kind::MovedTo, "tree"));
  REQUIRE(r.waitFor(RawChange::Kind::Created, "tree/a"));
  REQUIRE(r.waitFor(RawChange::Kind::Created, "tree/a/file"));
  r.dir.write("tree/a/later", "x");
  CHECK(r.waitFor(RawChange::Kind::Closed, "tree/a/later"));
  CHECK(r.watches() == 3);
}

TEST_CASE("inotify: writes, attribute changes and deletions") {
  Running r;
  const std::string f = r.dir.write("f", "x");
  r.start();
  r.dir.write("f", "more");
  REQUIRE(r.waitFor(RawChange::Kind::Closed, "f"));
  CHECK(has(r.reported("f"), "modified"));
  REQUIRE(::chmod(f.c_str(), 0600) == 0);
  REQUIRE(r.waitFor(RawChange::Kind::Attributes, "f"));
  fs::remove(f);
  REQUIRE(r.waitFor(RawChange::Kind::Deleted, "f"));
}

TEST_CASE("backend selection: auto, the aliases and the fallbacks") {
  using watcher::BackendKind;
  using watcher::chooseBackend;
  CHECK((chooseBackend({"auto"}, false, true).kind == BackendKind::Inotify));
  CHECK((chooseBackend({"auto"}, true, false).kind == BackendKind::Inotify));
  CHECK((chooseBackend({"auto"}, true, true).kind == BackendKind::Fanotify));
  CHECK((chooseBackend({"fsnotify"}, true, true).kind == BackendKind::Inotify));
  CHECK((chooseBackend({"kprobes"}, true, true).kind == BackendKind::Fanotify));
  CHECK((chooseBackend({"ebpf"}, true, true).kind == BackendKind::Fanotify));
  auto unprivileged = chooseBackend({"fanotify"}, false, true);
  CHECK((unprivileged.kind == BackendKind::Inotify));
  REQUIRE(unprivileged.warnings.size() == 1);
  CHECK(unprivileged.warnings[0].find("CAP_SYS_ADMIN") != std::string::npos);
  auto mixed = chooseBackend({"inotify", "fanotify"}, true, true);
  CHECK((mixed.kind == BackendKind::Inotify));
  CHECK(mixed.warnings.size() == 1);
  CHECK(chooseBackend({"inotify"}, false, false).warnings.empty());
}
