#include <doctest/doctest.h>

#include "support/skip.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "core/metrics.h"
#include "support/temp_dir.h"
#include "test_process_support.h"
#include "watcher/fanotify/fanotify_backend.h"
#include "watcher/name_cache.h"
#include "watcher/process/process_tracker.h"
#include "watcher/roots.h"

using namespace fim;
using fim::testing::ChildProcess;
using fim::testing::TempDir;
using watcher::RawChange;
using Kind = watcher::RawChange::Kind;
using watcher::fanotify::FanotifyBackend;
using watcher::fanotify::FanotifyOptions;

namespace {

const std::string kPython = "/usr/bin/python3";

config::ModuleConfig moduleFor(std::vector<std::string> paths, bool recursive, std::vector<std::string> excludes = {}) {
  config::ModuleConfig m;
  m.paths = std::move(paths);
  m.recursive = recursive;
  m.excludeFiles = std::move(excludes);
  return m;
}

// Every change the backend reported, in order, with a way to wait for one.
class Recorder {
 public:
  void add(RawChange&& change) {
    std::lock_guard lock(mutex_);
    changes_.push_back(std::move(change));
    changed_.notify_all();
  }
  // Waits (up to 20 s) for a change of `kind` on `path`.
  bool waitFor(Kind kind, const std::string& path) {
    std::unique_lock lock(mutex_);
    std::size_t checked = 0;  // each wake-up looks only at what arrived since the last one
    return changed_.wait_for(lock, std::chrono::seconds(20), [&] {
      for (; checked < changes_.size(); ++checked) {
        if (changes_[checked].kind == kind && changes_[checked].path == path) return true;
      }
      return false;
    });
  }
  std::vector<RawChange> changes() {
    std::lock_guard lock(mutex_);
    return changes_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<RawChange> changes_;
};

// A backend on its own thread, reporting into a Recorder; stopped and joined when destroyed.
class Running {
 public:
  Running(FanotifyBackend& backend, Recorder& recorder)
      : thread_([&backend, &recorder](std::stop_token stop) {
          backend.run(stop, [&recorder](RawChange&& c) { recorder.add(std::move(c)); });
        }) {}

 private:
  std::jthread thread_;
};

// Starts the backend on the modules' roots, or explains why this machine cannot and returns false.
bool startOrSkip(FanotifyBackend& backend, const std::vector<config::ModuleConfig>& modules) {
  if (auto probe = FanotifyBackend::probe(); !probe) {
    MESSAGE("skipped: " << probe.error().message());
    ::fim::testing::markSkipped();
    return false;
  }
  auto started = backend.start(watcher::resolveRoots(modules));
  if (!started && (started.error().code() == core::ErrorCode::PermissionDenied ||
                   started.error().code() == core::ErrorCode::Unavailable)) {
    MESSAGE("skipped: " << started.error().message());
    ::fim::testing::markSkipped();
    return false;
  }
  REQUIRE_MESSAGE(started.has_value(), started.error().message());
  return true;
}

// A python child that runs `script` with sys.argv[1:] = args, then waits for its stdin to close.
ChildProcess python(const std::string& script, std::vector<std::string> args, ChildProcess::Options options = {}) {
  std::vector<std::string> argv{kPython, "-c", "import os, sys\n" + script + "\nsys.stdin.read()\n"};
  argv.insert(argv.end(), args.begin(), args.end());
  return ChildProcess(argv, options);
}

// "Created /x, Closed /x, ..." for failure messages.
std::string describe(const std::vector<RawChange>& changes) {
  static const char* const kNames[] = {"Modified", "Attributes", "Closed",  "Created",  "Deleted",
                                       "MovedFrom", "MovedTo",   "Renamed", "Overflow", "Unwatched"};
  std::string out;
  for (const auto& c : changes) out += std::string(kNames[static_cast<int>(c.kind)]) + " " + c.path + "\n";
  return out;
}

bool contains(const std::vector<RawChange>& changes, Kind kind, const std::string& path) {
  return std::any_of(changes.begin(), changes.end(), [&](const RawChange& c) { return c.kind == kind && c.path == path; });
}

bool mentions(const std::vector<RawChange>& changes, const std::string& fragment) {
  return std::any_of(changes.begin(), changes.end(), [&](const RawChange& c) {
    return c.path.find(fragment) != std::string::npos || c.oldPath.find(fragment) != std::string::npos;
  });
}

// `expected` occurs in `changes` in this order (other changes may sit in between).
bool inOrder(const std::vector<RawChange>& changes, const std::vector<std::pair<Kind, std::string>>& expected) {
  std::size_t next = 0;
  for (const auto& c : changes) {
    if (next < expected.size() && c.kind == expected[next].first && c.path == expected[next].second) ++next;
  }
  return next == expected.size();
}

std::uint64_t inodeOf(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// Polls for `path` to exist (a child's "done" marker) for up to 60 s.
bool appears(const std::string& path) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!std::filesystem::exists(path)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

}  // namespace

TEST_CASE("fanotify: a child's create, write, chmod, mkdir, rename and delete, with who did them") {
  TempDir root;
  const std::vector modules{moduleFor({root.str()}, true)};
  FanotifyBackend backend(modules);
  if (!startOrSkip(backend, modules)) return;
  CHECK(backend.reportsRenames());  // this kernel (5.17+) has FAN_RENAME
  Recorder recorder;
  Running running(backend, recorder);

  const std::string d = root.str();
  ChildProcess child = python(R"(
d = sys.argv[1]
with open(d + '/new.txt', 'w') as f:
    f.write('hello')
os.chmod(d + '/new.txt', 0o600)
os.mkdir(d + '/sub')
os.rename(d + '/new.txt', d + '/sub/moved.txt')
os.unlink(d + '/sub/moved.txt')
os.chmod(d, 0o755)
open(d + '/done', 'w').close()
)", {d}, {.cwd = d});
  REQUIRE(child.started());
  REQUIRE(recorder.waitFor(Kind::Closed, d + "/done"));
  const std::vector<RawChange> changes = recorder.changes();
  CAPTURE(describe(changes));
  CHECK(inOrder(changes, {{Kind::Created, d + "/new.txt"},
                          {Kind::Modified, d + "/new.txt"},
                          {Kind::Closed, d + "/new.txt"},
                          {Kind::Created, d + "/sub"},
                          {Kind::Renamed, d + "/sub/moved.txt"},
                          {Kind::Deleted, d + "/sub/moved.txt"},
                          {Kind::Attributes, d},
                          {Kind::Created, d + "/done"}}));
  // The kernel merges the chmod into the write's event (same file, same process): order unknown.
  CHECK(contains(changes, Kind::Attributes, d + "/new.txt"));
  const auto sub = std::find_if(changes.begin(), changes.end(), [&](const RawChange& c) { return c.path == d + "/sub"; });
  REQUIRE(sub != changes.end());
  CHECK(sub->isDirectory);
  const auto renamed = std::find_if(changes.begin(), changes.end(), [](const RawChange& c) { return c.kind == Kind::Renamed; });
  REQUIRE(renamed != changes.end());
  CHECK(renamed->oldPath == d + "/new.txt");
  CHECK_FALSE(renamed->isDirectory);
  CHECK(renamed->inode != 0);

  watcher::NameCache names;
  const std::string executable = std::filesystem::canonical(kPython).string();
  for (const RawChange& c : changes) {
    CAPTURE(c.path);
    REQUIRE(c.process.has_value());
    const events::ProcessInfo& p = *c.process;
    CHECK(p.pid == child.pid());
    CHECK_FALSE(p.exited);
    CHECK(p.name == "python3");
    CHECK(p.executable == executable);
    REQUIRE(p.args.size() == 4);
    CHECK(p.args[0] == kPython);
    CHECK(p.args[3] == d);
    CHECK(p.parentPid == ::getpid());
    CHECK(p.workingDirectory == d);
    CHECK(p.userId == ::geteuid());
    CHECK(p.userName == names.user(::geteuid()));
    CHECK(p.groupName == names.group(::getegid()));
  }
  CHECK(child.release() == 0);
}

TEST_CASE("fanotify: the user of a child running as nobody") {
  TempDir root;
  std::filesystem::permissions(root.path(), std::filesystem::perms::all);  // fimbeat's own change: not reported
  const std::vector modules{moduleFor({root.str()}, true)};
  FanotifyBackend backend(modules);
  if (!startOrSkip(backend, modules)) return;
  Recorder recorder;
  Running running(backend, recorder);
  ChildProcess child = python("open(sys.argv[1] + '/by-nobody', 'w').write('x')", {root.str()},
                              {.cwd = "/", .uid = 65534, .gid = 65534});
  REQUIRE(child.started());
  REQUIRE(recorder.waitFor(Kind::Closed, root.str() + "/by-nobody"));
  const std::vector<RawChange> changes = recorder.changes();
  CHECK_FALSE(contains(changes, Kind::Attributes, root.str()));
  watcher::NameCache names;
  for (const RawChange& c : changes) {
    REQUIRE(c.process.has_value());
    CHECK(c.process->pid == child.pid());
    CHECK(c.process->userId == 65534u);
    CHECK(c.process->userName == names.user(65534));
    CHECK_FALSE(c.process->userName.empty());
    CHECK(c.process->groupId == 65534u);
    CHECK(c.process->groupName == names.group(65534));
  }
  CHECK(child.release() == 0);
}

TEST_CASE("fanotify: excluded directories and files produce nothing, a non-recursive root ignores grandchildren") {
  TempDir flat;
  TempDir deep;
  const std::vector modules{moduleFor({flat.str()}, false), moduleFor({deep.str()}, true, {"/skip$", R"(\.tmp$)"})};
  FanotifyBackend backend(modules);
  if (!startOrSkip(backend, modules)) return;
  Recorder recorder;
  Running running(backend, recorder);
  ChildProcess child = python(R"(
flat, deep = sys.argv[1], sys.argv[2]
open(flat + '/top.txt', 'w').write('1')
os.mkdir(flat + '/sub')
open(flat + '/sub/grand.txt', 'w').write('2')
os.mkdir(deep + '/skip')
open(deep + '/skip/inner.txt', 'w').write('3')
open(deep + '/x.tmp', 'w').write('4')
os.makedirs(deep + '/a/b')
open(deep + '/a/b/kept.txt', 'w').write('5')
open(deep + '/done', 'w').close()
)", {flat.str(), deep.str()});
  REQUIRE(child.started());
  REQUIRE(recorder.waitFor(Kind::Closed, deep.str() + "/done"));
  const std::vector<RawChange> changes = recorder.changes();
  CHECK(contains(changes, Kind::Closed, flat.str() + "/top.txt"));
  CHECK(contains(changes, Kind::Created, flat.str() + "/sub"));
  CHECK_FALSE(mentions(changes, "grand.txt"));
  CHECK_FALSE(mentions(changes, "/skip"));
  CHECK_FALSE(mentions(changes, "inner.txt"));
  CHECK_FALSE(mentions(changes, "x.tmp"));
  CHECK(contains(changes, Kind::Created, deep.str() + "/a/b"));
  CHECK(contains(changes, Kind::Closed, deep.str() + "/a/b/kept.txt"));
  CHECK(child.release() == 0);
}

TEST_CASE("fanotify: fimbeat's own changes are ignored") {
  TempDir root;
  const std::vector modules{moduleFor({root.str()}, true)};
  FanotifyBackend backend(modules);
  if (!startOrSkip(backend, modules)) return;
  Recorder recorder;
  Running running(backend, recorder);
  root.write("own.txt", "written by the test process itself");
  std::filesystem::create_directory(root.path() / "own-dir");
  std::filesystem::rename(root.path() / "own.txt", root.path() / "own-dir" / "own.txt");
  // Another thread of this process counts as fimbeat too.
  std::thread([&] { root.write("own-thread.txt", "x"); }).join();
  ChildProcess child = python("open(sys.argv[1] + '/theirs', 'w').close()", {root.str()});
  REQUIRE(child.started());
  REQUIRE(recorder.waitFor(Kind::Closed, root.str() + "/theirs"));
  const std::vector<RawChange> changes = recorder.changes();
  CHECK_FALSE(mentions(changes, "own"));
  CHECK(backend.stats().ownIgnored >= 1);
  CHECK(child.release() == 0);
}

TEST_CASE("fanotify: after a directory is renamed, changes inside carry the new path") {
  TempDir root;
  const std::vector modules{moduleFor({root.str()}, true)};
  for (const bool useRename : {true, false}) {
    CAPTURE(useRename);
    const std::string d = root.str() + (useRename ? "/with-rename" : "/with-moves");
    std::filesystem::create_directory(d);
    FanotifyBackend backend(modules, FanotifyOptions{.useRename = useRename});
    if (!startOrSkip(backend, modules)) return;
    CHECK(backend.reportsRenames() == useRename);
    Recorder recorder;
    Running running(backend, recorder);
    // The child waits for a line after each step, so the backend has seen (and cached) the
    // directory under its old name before it is renamed.
    ChildProcess child = python(R"(
d = sys.argv[1]
os.mkdir(d + '/old')
open(d + '/old/f1', 'w').write('1')
sys.stdin.readline()
os.rename(d + '/old', d + '/new')
open(d + '/new/f2', 'w').write('2')
sys.stdin.readline()
os.rename(d + '/new', d + '/newer')
open(d + '/newer/f3', 'w').write('3')
)", {d});
    REQUIRE(child.started());
    REQUIRE(recorder.waitFor(Kind::Closed, d + "/old/f1"));
    REQUIRE(child.tell("go"));
    REQUIRE(recorder.waitFor(Kind::Closed, d + "/new/f2"));
    REQUIRE(child.tell("go"));
    REQUIRE(recorder.waitFor(Kind::Closed, d + "/newer/f3"));
    const std::vector<RawChange> changes = recorder.changes();
    CHECK(contains(changes, Kind::Closed, d + "/old/f1"));
    CHECK(contains(changes, Kind::Closed, d + "/new/f2"));
    CHECK_FALSE(contains(changes, Kind::Closed, d + "/old/f2"));
    CHECK_FALSE(contains(changes, Kind::Closed, d + "/new/f3"));
    if (useRename) {
      CHECK(contains(changes, Kind::Renamed, d + "/new"));
      CHECK(contains(changes, Kind::Renamed, d + "/newer"));
    } else {
      CHECK(inOrder(changes, {{Kind::MovedFrom, d + "/old"}, {Kind::MovedTo, d + "/new"},
                              {Kind::MovedFrom, d + "/new"}, {Kind::MovedTo, d + "/newer"}}));
    }
    CHECK(child.release() == 0);
  }
}

TEST_CASE("fanotify: moves within, out of and into a root, with and without FAN_RENAME") {
  TempDir root;
  TempDir outside;
  const std::vector modules{moduleFor({root.str()}, true)};
  for (const bool useRename : {true, false}) {
    CAPTURE(useRename);
    const std::string tag = useRename ? "r" : "m";
    root.write(tag + "-a", "a");
    root.write(tag + "-c", "c");
    outside.write(tag + "-o", "o");
    FanotifyBackend backend(modules, FanotifyOptions{.useRename = useRename});
    if (!startOrSkip(backend, modules)) return;
    Recorder recorder;
    Running running(backend, recorder);
    const std::string r = root.str() + "/" + tag;
    const std::string o = outside.str() + "/" + tag;
    ChildProcess child = python(R"(
r, o = sys.argv[1], sys.argv[2]
os.rename(r + '-a', r + '-b')
os.rename(r + '-c', o + '-c')
os.rename(o + '-o', r + '-o')
open(r + '-done', 'w').close()
)", {r, o});
    REQUIRE(child.started());
    REQUIRE(recorder.waitFor(Kind::Closed, r + "-done"));
    const std::vector<RawChange> changes = recorder.changes();
    const auto find = [&](Kind kind, const std::string& path) {
      const auto it = std::find_if(changes.begin(), changes.end(),
                                   [&](const RawChange& c) { return c.kind == kind && c.path == path; });
      REQUIRE_MESSAGE(it != changes.end(), "missing change on " << path);
      return *it;
    };
    if (useRename) {
      const RawChange renamed = find(Kind::Renamed, r + "-b");
      CHECK(renamed.oldPath == r + "-a");
      CHECK(renamed.inode == inodeOf(r + "-b"));
    } else {
      const RawChange from = find(Kind::MovedFrom, r + "-a");
      const RawChange to = find(Kind::MovedTo, r + "-b");
      CHECK(from.inode == inodeOf(r + "-b"));
      CHECK(to.inode == from.inode);
    }
    CHECK(find(Kind::MovedFrom, r + "-c").inode == inodeOf(o + "-c"));
    CHECK(find(Kind::MovedTo, r + "-o").inode == inodeOf(r + "-o"));
    CHECK_FALSE(mentions(changes, outside.str()));
    for (const RawChange& c : changes) CHECK(c.process->pid == child.pid());
    CHECK(child.release() == 0);
  }
}

TEST_CASE("fanotify: a directory moved in reports its contents as created, excluded ones aside") {
  TempDir root;
  TempDir outside;
  const std::vector modules{moduleFor({root.str()}, true, {"/skip$"})};
  for (const bool useRename : {true, false}) {
    CAPTURE(useRename);
    const std::string from = outside.str() + (useRename ? "/with-rename" : "/with-moves");
    std::filesystem::create_directories(from + "/sub/skip");
    outside.write((useRename ? "with-rename" : "with-moves") + std::string("/inner"), "i");
    outside.write((useRename ? "with-rename" : "with-moves") + std::string("/sub/deep"), "d");
    outside.write((useRename ? "with-rename" : "with-moves") + std::string("/sub/skip/hidden"), "h");
    const std::string to = root.str() + (useRename ? "/with-rename" : "/with-moves");
    FanotifyBackend backend(modules, FanotifyOptions{.useRename = useRename});
    if (!startOrSkip(backend, modules)) return;
    Recorder recorder;
    Running running(backend, recorder);
    ChildProcess child = python("os.rename(sys.argv[1], sys.argv[2])\nopen(sys.argv[2] + '-done', 'w').close()",
                                {from, to});
    REQUIRE(child.started());
    REQUIRE(recorder.waitFor(Kind::Closed, to + "-done"));
    const std::vector<RawChange> changes = recorder.changes();
    CAPTURE(describe(changes));
    CHECK(contains(changes, Kind::MovedTo, to));
    CHECK(contains(changes, Kind::Created, to + "/inner"));
    CHECK(contains(changes, Kind::Created, to + "/sub"));
    CHECK(contains(changes, Kind::Created, to + "/sub/deep"));
    CHECK_FALSE(mentions(changes, "skip"));
    CHECK(child.release() == 0);
  }
}

TEST_CASE("fanotify: a file as a root, replaced the way editors save") {
  TempDir dir;
  const std::string file = dir.write("app.conf", "v1");
  dir.write("neighbour", "n");
  const std::vector modules{moduleFor({file}, false)};
  FanotifyBackend backend(modules);
  if (!startOrSkip(backend, modules)) return;
  Recorder recorder;
  Running running(backend, recorder);
  ChildProcess child = python(R"(
f = sys.argv[1]
open(f, 'a').write('v2')
open(f + '.tmp', 'w').write('v3')
os.rename(f + '.tmp', f)
open(os.path.dirname(f) + '/neighbour', 'a').write('x')
os.chmod(f, 0o640)
)", {file});
  REQUIRE(child.started());
  REQUIRE(recorder.waitFor(Kind::Attributes, file));
  const std::vector<RawChange> changes = recorder.changes();
  CAPTURE(describe(changes));
  CHECK(inOrder(changes, {{Kind::Modified, file}, {Kind::Closed, file}, {Kind::MovedTo, file}, {Kind::Attributes, file}}));
  CHECK_FALSE(mentions(changes, "neighbour"));
  CHECK_FALSE(mentions(changes, ".tmp"));
  CHECK(child.release() == 0);
}

TEST_CASE("fanotify: merged events are reported in the order the path's final state implies") {
  // Queued before anything is read, one process's events on one name merge into one event
  // whose mask no longer tells the order: a file replaced and a file that came and went.
  TempDir root;
  root.write("replaced", "old");
  const std::vector modules{moduleFor({root.str()}, true)};
  for (const bool useRename : {true, false}) {
    CAPTURE(useRename);
    FanotifyBackend backend(modules, FanotifyOptions{.useRename = useRename});
    if (!startOrSkip(backend, modules)) return;
    const std::string d = root.str();
    const std::string done = d + (useRename ? "/done-r" : "/done-m");
    ChildProcess child = python(R"(
d = sys.argv[1]
os.unlink(d + '/replaced')
open(d + '/replaced', 'w').write('new')
open(d + '/fleeting', 'w').write('x')
os.unlink(d + '/fleeting')
open(sys.argv[2], 'w').close()
)", {d, done});
    REQUIRE(child.started());
    REQUIRE(appears(done));
    Recorder recorder;
    Running running(backend, recorder);
    REQUIRE(recorder.waitFor(Kind::Closed, done));
    const std::vector<RawChange> changes = recorder.changes();
    CAPTURE(describe(changes));
    CHECK(inOrder(changes, {{Kind::Deleted, d + "/replaced"}, {Kind::Created, d + "/replaced"}}));
    CHECK(inOrder(changes, {{Kind::Created, d + "/fleeting"}, {Kind::Deleted, d + "/fleeting"}}));
    // The last word on each path matches the disk.
    const auto last = [&](const std::string& path) {
      Kind kind = Kind::Overflow;
      for (const auto& c : changes) {
        if (c.path == path && (c.kind == Kind::Created || c.kind == Kind::Deleted)) kind = c.kind;
      }
      return kind;
    };
    CHECK((last(d + "/replaced") == Kind::Created));
    CHECK((last(d + "/fleeting") == Kind::Deleted));
    CHECK(child.release() == 0);
    std::filesystem::remove(done);
  }
}

TEST_CASE("fanotify: the backend's counters are published as watcher.fanotify.* metrics") {
  TempDir root;
  const std::vector modules{moduleFor({root.str()}, true)};
  core::Metrics metrics;
  FanotifyBackend backend(modules, FanotifyOptions{}, &metrics);
  if (!startOrSkip(backend, modules)) return;
  Recorder recorder;
  {
    Running running(backend, recorder);
    root.write("own.txt", "ignored: written by this process");
    ChildProcess child = python("open(sys.argv[1] + '/theirs', 'w').close()", {root.str()});
    REQUIRE(child.started());
    REQUIRE(recorder.waitFor(Kind::Closed, root.str() + "/theirs"));
    CHECK(child.release() == 0);
  }  // stopped: the last drain has published
  const watcher::fanotify::FanotifyStats stats = backend.stats();
  CHECK(stats.reported >= 2);  // created and closed
  CHECK(stats.ownIgnored >= 1);
  CHECK(metrics.counter("watcher.fanotify.events").value() == static_cast<std::int64_t>(stats.events));
  CHECK(metrics.counter("watcher.fanotify.reported").value() == static_cast<std::int64_t>(stats.reported));
  CHECK(metrics.counter("watcher.fanotify.own_ignored").value() == static_cast<std::int64_t>(stats.ownIgnored));
  CHECK(metrics.counter("watcher.fanotify.overflows").value() == 0);
  CHECK(metrics.counter("watcher.fanotify.read_errors").value() == 0);
  const auto snapshot = metrics.snapshot();
  CHECK(std::count_if(snapshot.begin(), snapshot.end(),
                      [](const auto& m) { return m.first.starts_with("watcher.fanotify."); }) == 8);
}

TEST_CASE("fanotify: a full kernel queue is reported as Overflow") {
  TempDir root;
  const std::vector modules{moduleFor({root.str()}, true)};
  FanotifyBackend backend(modules, FanotifyOptions{.unlimitedQueue = false});
  if (!startOrSkip(backend, modules)) return;
  // Nobody reads yet: 20000 files (create + close each) overrun the default 16384-event queue.
  ChildProcess child = python(R"(
for i in range(20000):
    open('%s/f%d' % (sys.argv[1], i), 'w').close()
sys.exit(0)
)", {root.str()});
  REQUIRE(child.started());
  CHECK(child.release() == 0);
  Recorder recorder;
  Running running(backend, recorder);
  REQUIRE(recorder.waitFor(Kind::Overflow, ""));
  CHECK(backend.stats().overflows >= 1);
  const std::vector<RawChange> changes = recorder.changes();
  const auto overflow = std::find_if(changes.begin(), changes.end(), [](const RawChange& c) { return c.kind == Kind::Overflow; });
  CHECK_FALSE(overflow->process.has_value());
}

TEST_CASE("fanotify: a process that exited before its events were read") {
  TempDir root;
  const std::vector modules{moduleFor({root.str()}, true)};
  FanotifyBackend backend(modules);
  if (!startOrSkip(backend, modules)) return;
  // The child writes and is reaped before the backend reads a single event.
  ChildProcess child({"/bin/sh", "-c", "echo x > \"$0/brief\"", root.str()});
  REQUIRE(child.started());
  const pid_t pid = child.pid();
  CHECK(child.release() == 0);
  Recorder recorder;
  Running running(backend, recorder);
  REQUIRE(recorder.waitFor(Kind::Closed, root.str() + "/brief"));
  for (const RawChange& c : recorder.changes()) {
    REQUIRE(c.process.has_value());
    CHECK(c.process->pid == pid);
    CHECK(c.process->exited);
    CHECK(c.process->name.empty());
  }
}

TEST_CASE("fanotify: with the process tracker, a process that exited before its events were read is named") {
  TempDir root;
  const std::vector modules{moduleFor({root.str()}, true)};
  core::Metrics metrics;
  watcher::process::ProcessTracker tracker("/proc", {}, {}, &metrics);
  FanotifyBackend backend(modules, FanotifyOptions{.tracker = &tracker}, &metrics);
  if (!startOrSkip(backend, modules)) return;
  if (metrics.gauge("watcher.process.tracking").value() != 1) {
    FIM_SKIP("the kernel's process events are not available here (see the log)");
  }
  // As in the test before: written and reaped before the backend reads a single event.
  ChildProcess child({"/bin/sh", "-c", "echo x > \"$0/brief\"", root.str()});
  REQUIRE(child.started());
  const pid_t pid = child.pid();
  CHECK(child.release() == 0);
  Recorder recorder;
  Running running(backend, recorder);
  REQUIRE(recorder.waitFor(Kind::Closed, root.str() + "/brief"));
  for (const RawChange& c : recorder.changes()) {
    REQUIRE(c.process.has_value());
    CHECK(c.process->pid == pid);
    CHECK(c.process->name == "sh");
    CHECK(c.process->executable == "/usr/bin/dash");
    CHECK(c.process->args == std::vector<std::string>{"/bin/sh", "-c", "echo x > \"$0/brief\"", root.str()});
    CHECK(c.process->parentPid == ::getpid());
  }
  CHECK(metrics.counter("watcher.process.recalled").value() >= 1);
  CHECK(metrics.counter("watcher.process.without_executable").value() == 0);
  // Once the backend found its queue empty, the exited process is forgotten.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (tracker.recall(pid).has_value() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  CHECK_FALSE(tracker.recall(pid).has_value());
}

TEST_CASE("fanotify: probe and start explain what is missing" * doctest::description("needs root to be meaningful")) {
  auto probe = FanotifyBackend::probe();
  if (!probe) {
    CHECK((probe.error().code() == core::ErrorCode::PermissionDenied ||
           probe.error().code() == core::ErrorCode::Unavailable));
    CHECK(probe.error().message().find("inotify") != std::string::npos);
    return;
  }
  CHECK(FanotifyBackend::available());
  // /proc cannot report file handles: the error names the root so the user can act.
  const std::vector modules{moduleFor({"/proc/self"}, false)};
  FanotifyBackend backend(modules);
  const std::vector<watcher::Root> roots{{"/proc/sys", 0, false}};
  auto started = backend.start(roots);
  REQUIRE_FALSE(started.has_value());
  CHECK(started.error().message().find("/proc/sys") != std::string::npos);
}
