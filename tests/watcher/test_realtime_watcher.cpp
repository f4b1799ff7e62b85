// RealtimeWatcher with a scripted backend on a real directory: a live change is read exactly
// as the scan reads it, lost events trigger a rescan, a backend that cannot start leaves a
// scan-only watcher; and the realtime options as the config loader reads them.

#include <doctest/doctest.h>

#include <sys/eventfd.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "config/config_test_support.h"
#include "support/temp_dir.h"
#include "watcher/realtime/realtime_watcher.h"

using namespace fim;
using watcher::RawChange;

namespace {

constexpr auto kDeadline = std::chrono::seconds(10);

// Reports the changes it is given, as a kernel backend would: its descriptor (an eventfd) turns
// readable when some are waiting.
class ScriptedBackend final : public watcher::ChangeBackend {
 public:
  explicit ScriptedBackend(bool startFails = false)
      : startFails_(startFails), fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~ScriptedBackend() override { ::close(fd_); }
  const char* name() const override { return "scripted"; }
  core::Status start(const std::vector<watcher::Root>&) override {
    if (startFails_) return core::fail(core::ErrorCode::Io, "no kernel support here");
    return {};
  }
  int fd() const override { return fd_; }
  void readReady(const watcher::ChangeSink& sink) override {
    std::uint64_t count = 0;
    (void)!::read(fd_, &count, sizeof count);
    std::vector<RawChange> script;
    {
      std::lock_guard lock(mutex_);
      script.swap(script_);
    }
    for (auto& c : script) sink(std::move(c));
  }
  void report(RawChange change) {
    {
      std::lock_guard lock(mutex_);
      script_.push_back(std::move(change));
    }
    const std::uint64_t one = 1;
    (void)!::write(fd_, &one, sizeof one);
  }

 private:
  bool startFails_;
  int fd_;
  std::mutex mutex_;
  std::vector<RawChange> script_;
};

struct Harness {
  testing::TempDir dir;
  core::Metrics metrics;
  core::Health health;
  core::SystemClock clock;
  std::vector<config::ModuleConfig> modules;
  ScriptedBackend* backend = nullptr;
  core::BoundedQueue<events::Observation> out{4096};
  std::vector<events::Observation> seen;
  std::unique_ptr<watcher::RealtimeWatcher> watcher;
  std::jthread thread;

  explicit Harness(bool startFails = false, std::chrono::milliseconds unwatchedEvery = std::chrono::seconds(60)) {
    config::ModuleConfig m;
    m.paths = {dir.str()};
    m.recursive = true;
    m.hashTypes = {"sha256"};
    m.mimeType = false;
    modules.push_back(m);
    dir.write("f", "content");
    auto scripted = std::make_unique<ScriptedBackend>(startFails);
    backend = scripted.get();
    watcher::RealtimeOptions options;
    options.coalescing.quietPeriod = std::chrono::milliseconds(50);
    options.unwatchedRescanInterval = unwatchedEvery;
    options.health = &health;
    watcher = std::make_unique<watcher::RealtimeWatcher>(modules, std::vector<watcher::Root>{{dir.str(), 0, true}},
                                                         nullptr, clock, metrics, std::move(scripted), options);
    thread = std::jthread([this](std::stop_token stop) {
      watcher->run(stop, out);
      out.close();
    });
  }

  // Takes observations until `done` holds for one of them (false at the deadline or the end).
  template <typename Pred>
  bool until(Pred done) {
    const auto deadline = std::chrono::steady_clock::now() + kDeadline;
    std::vector<events::Observation> batch;
    while (std::chrono::steady_clock::now() < deadline) {
      batch.clear();
      if (out.popBatchFor(batch, 64, {}, std::chrono::milliseconds(100)) == 0 && out.closed() && out.size() == 0) {
        return false;
      }
      for (auto& o : batch) {
        seen.push_back(std::move(o));
        if (done(seen.back())) return true;
      }
    }
    return false;
  }

  RawChange change(RawChange::Kind kind, const std::string& relative) {
    RawChange c;
    c.kind = kind;
    c.path = (dir.path() / relative).string();
    return c;
  }
};

bool isScanDone(const events::Observation& o) { return std::holds_alternative<events::ScanDone>(o); }

// The path a PathSeen observation is about; "" for the other kinds.
std::string seenPath(const events::Observation& o) {
  const auto* seen = std::get_if<events::PathSeen>(&o);
  return seen ? seen->info.path : std::string();
}

}  // namespace

TEST_CASE("realtime watcher: a live change is observed exactly as the scan observed the same state") {
  Harness h;
  const std::string f = (h.dir.path() / "f").string();
  REQUIRE(h.until(isScanDone));
  auto scanned = std::find_if(h.seen.begin(), h.seen.end(), [&](const auto& o) { return seenPath(o) == f; });
  REQUIRE(scanned != h.seen.end());
  const events::FileInfo fromScan = std::get<events::PathSeen>(*scanned).info;
  h.backend->report(h.change(RawChange::Kind::Closed, "f"));
  REQUIRE(h.until([&](const events::Observation& o) { return seenPath(o) == f; }));
  const events::PathSeen& live = std::get<events::PathSeen>(h.seen.back());
  CHECK(live.info.hashes == fromScan.hashes);
  CHECK(live.info.size == fromScan.size);
  CHECK(live.info.inode == fromScan.inode);
  CHECK(live.info.mode == fromScan.mode);
  CHECK(live.info.mtime == fromScan.mtime);
  CHECK(live.info.ctime == fromScan.ctime);
  CHECK(live.info.owner == fromScan.owner);
  CHECK_FALSE(live.storedKnown);  // the baseline reads its own current record
}

TEST_CASE("realtime watcher: moves and deletions become Moved and Deleted observations") {
  Harness h;
  REQUIRE(h.until(isScanDone));
  std::filesystem::rename(h.dir.path() / "f", h.dir.path() / "g");
  auto from = h.change(RawChange::Kind::MovedFrom, "f");
  auto to = h.change(RawChange::Kind::MovedTo, "g");
  from.cookie = to.cookie = 42;
  h.backend->report(from);
  h.backend->report(to);
  REQUIRE(h.until([](const events::Observation& o) { return std::holds_alternative<events::PathMoved>(o); }));
  const auto& moved = std::get<events::PathMoved>(h.seen.back());
  CHECK(moved.now.info.path == (h.dir.path() / "g").string());
  CHECK(moved.from == (h.dir.path() / "f").string());
  CHECK_FALSE(moved.now.info.hashes.empty());
  h.backend->report(h.change(RawChange::Kind::Deleted, "gone"));
  REQUIRE(h.until([](const events::Observation& o) { return std::holds_alternative<events::PathDeleted>(o); }));
  CHECK(std::get<events::PathDeleted>(h.seen.back()).path == (h.dir.path() / "gone").string());
}

TEST_CASE("realtime watcher: lost events start a rescan of every root") {
  Harness h;
  REQUIRE(h.until(isScanDone));
  h.backend->report(h.change(RawChange::Kind::Overflow, ""));
  REQUIRE(h.until(isScanDone));
  CHECK(h.metrics.counter("watcher.realtime.rescans").value() == 1);
  CHECK(h.metrics.counter("watcher.realtime.overflows_handled").value() == 1);
}

TEST_CASE("realtime watcher: a change without a path is counted, degrades health and is found by a rescan") {
  Harness h;
  REQUIRE(h.until(isScanDone));
  const std::uint64_t before = h.health.generation();
  h.dir.write("hidden", "written where the backend could not name it");
  RawChange blind;
  blind.kind = RawChange::Kind::Unresolved;
  blind.detail = "open_by_handle_at: Operation not permitted";
  h.backend->report(blind);
  const std::string hidden = (h.dir.path() / "hidden").string();
  REQUIRE(h.until([&](const events::Observation& o) { return seenPath(o) == hidden; }));
  REQUIRE(h.until(isScanDone));
  CHECK(h.metrics.counter("watcher.realtime.unresolved").value() == 1);
  CHECK(h.metrics.counter("watcher.realtime.rescans").value() == 1);
  // DEGRADED from the change until the rescan that reports it has ended.
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (h.health.generation() < before + 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(h.health.generation() == before + 2);
  CHECK(std::string(core::toString(h.health.unit(core::Health::kWatcher).state)) == "HEALTHY");
}

TEST_CASE("realtime watcher: a backend that cannot start hands over to its fallback") {
  testing::TempDir dir;
  config::ModuleConfig m;
  m.paths = {dir.str()};
  m.recursive = true;
  m.mimeType = false;
  core::Metrics metrics;
  core::SystemClock clock;
  watcher::RealtimeOptions options;
  options.coalescing.quietPeriod = std::chrono::milliseconds(50);
  ScriptedBackend* fallback = nullptr;
  options.fallbackOnStartFailure = [&fallback]() -> std::unique_ptr<watcher::ChangeBackend> {
    auto made = std::make_unique<ScriptedBackend>();
    fallback = made.get();
    return made;
  };
  core::BoundedQueue<events::Observation> out{4096};
  watcher::RealtimeWatcher watcher({m}, {{dir.str(), 0, true}}, nullptr, clock, metrics,
                                   std::make_unique<ScriptedBackend>(true), options);
  std::jthread thread([&](std::stop_token stop) {
    watcher.run(stop, out);
    out.close();
  });
  const std::string later = (dir.path() / "later").string();
  bool scanned = false, seenLater = false;
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  std::vector<events::Observation> batch;
  while (!seenLater && std::chrono::steady_clock::now() < deadline) {
    batch.clear();
    (void)out.popBatchFor(batch, 64, {}, std::chrono::milliseconds(100));
    for (const auto& o : batch) {
      if (isScanDone(o) && !scanned) {
        scanned = true;
        REQUIRE(fallback != nullptr);
        dir.write("later", "x");
        RawChange c;
        c.kind = RawChange::Kind::Closed;
        c.path = later;
        fallback->report(c);  // the fallback reports live changes: the watcher reads it
      }
      seenLater = seenLater || seenPath(o) == later;
    }
  }
  CHECK(seenLater);
}

TEST_CASE("realtime watcher: an unwatched directory is rescanned as a subtree, closed by SubtreeDone") {
  Harness h(false, std::chrono::milliseconds(50));
  h.dir.write("deep/x", "x");
  REQUIRE(h.until(isScanDone));
  const std::string deep = (h.dir.path() / "deep").string();
  h.backend->report(h.change(RawChange::Kind::Unwatched, "deep"));
  const std::size_t before = h.seen.size();
  REQUIRE(h.until([&](const events::Observation& o) {
    const auto* done = std::get_if<events::SubtreeDone>(&o);
    return done && done->path == deep;
  }));
  std::vector<std::string> rescanned;
  for (std::size_t i = before; i < h.seen.size(); ++i) rescanned.push_back(seenPath(h.seen[i]));
  CHECK(std::find(rescanned.begin(), rescanned.end(), deep + "/x") != rescanned.end());
  CHECK(std::find(rescanned.begin(), rescanned.end(), (h.dir.path() / "f").string()) == rescanned.end());
  CHECK(h.metrics.counter("watcher.realtime.rescans").value() >= 1);
}

TEST_CASE("realtime watcher: a backend that cannot start leaves a scan-only watcher that ends after its scan") {
  Harness h(true);
  REQUIRE(h.until(isScanDone));
  CHECK_FALSE(h.until([](const events::Observation&) { return false; }));  // the queue closes: run() returned
}

TEST_CASE("realtime options: defaults, values and the errors that name the key") {
  auto loaded = testing::loadYaml(testing::kMinimal);
  REQUIRE(loaded.has_value());
  const auto& m = loaded->config.modules[0];
  CHECK(m.backend == "auto");
  CHECK((m.quietPeriod == std::chrono::seconds(1)));
  CHECK((m.rescanInterval == config::Duration::zero()));
  CHECK(m.scanFilesPerSec == 0);

  auto set = testing::loadYaml(
      "fimbeat.modules:\n- module: file_integrity\n  paths: [/etc]\n  backend: fsnotify\n  rescan_interval: 12h\n"
      "  scan_files_per_sec: 500\n  realtime:\n    quiet_period: 250ms\noutput.file:\n  path: /tmp/e\n");
  REQUIRE_MESSAGE(set.has_value(), (set ? "" : set.error().message()));
  const auto& s = set->config.modules[0];
  CHECK((s.rescanInterval == std::chrono::hours(12)));
  CHECK(s.scanFilesPerSec == 500);
  CHECK((s.quietPeriod == std::chrono::milliseconds(250)));
  CHECK(set->warnings.empty());

  auto kprobes = testing::loadYaml(
      "fimbeat.modules:\n- module: file_integrity\n  paths: [/etc]\n  backend: kprobes\noutput.file:\n  path: /x\n");
  REQUIRE(kprobes.has_value());
  REQUIRE(kprobes->warnings.size() == 1);
  CHECK(kprobes->warnings[0].describe().find("fanotify") != std::string::npos);

  const std::string errors = testing::errorsOf(
      "fimbeat.modules:\n- module: file_integrity\n  paths: [/etc]\n  realtime.quiet_period: 0s\n"
      "  rescan_interval: soon\noutput.file:\n  path: /x\n");
  CAPTURE(errors);
  CHECK(errors.find("test.yml:4: fimbeat.modules.0.realtime.quiet_period") != std::string::npos);
  CHECK(errors.find("test.yml:5: fimbeat.modules.0.rescan_interval") != std::string::npos);
}
