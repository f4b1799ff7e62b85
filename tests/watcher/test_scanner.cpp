#include <doctest/doctest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <map>
#include <set>

#include "baseline/baseline.h"
#include "baseline/record.h"
#include "core/metrics.h"
#include "core/paths.h"
#include "support/deep_tree.h"
#include "support/memory_store.h"
#include "support/temp_dir.h"
#include "watcher/open_beneath.h"
#include "watcher/path_filter.h"
#include "watcher/roots.h"
#include "watcher/scanner.h"

using namespace fim;
using fim::testing::TempDir;

namespace {

config::ModuleConfig moduleFor(const std::string& root, bool recursive) {
  config::ModuleConfig m;
  m.paths = {root};
  m.recursive = recursive;
  m.scanRatePerSec = 0;
  return m;
}

struct ScanResult {
  std::map<std::string, events::PathSeen> seen;
  bool done = false;
  core::Metrics metrics;
};

// Runs one full scan without a baseline and collects every observation by path.
void scan(const std::vector<config::ModuleConfig>& modules, ScanResult& result) {
  core::SystemClock clock;
  watcher::Scanner scanner(modules, watcher::resolveRoots(modules), nullptr, clock, result.metrics, {});
  core::BoundedQueue<events::Observation> queue(100000);
  std::stop_source stop;
  scanner.run(stop.get_token(), queue);
  while (auto o = queue.tryPop()) {
    if (std::holds_alternative<events::ScanDone>(*o)) {
      CHECK(queue.size() == 0);  // the marker comes last
      result.done = true;
      continue;
    }
    REQUIRE(std::holds_alternative<events::PathSeen>(*o));
    const auto& seen = std::get<events::PathSeen>(*o);
    CHECK(result.seen.emplace(seen.info.path, seen).second);  // no path twice
  }
}

events::FileType typeOf(const ScanResult& r, const std::string& path) { return r.seen.at(path).info.type; }

}  // namespace

TEST_CASE("path filter: excludes are unanchored RE2, includes apply to files only") {
  config::ModuleConfig m;
  m.excludeFiles = {R"((?i)\.sw[nop]$)", "~$", R"(/\.git($|/))"};
  watcher::PathFilter exclude(m);
  CHECK(exclude.excluded("/etc/.passwd.SWP"));
  CHECK(exclude.excluded("/etc/passwd~"));
  CHECK(exclude.excluded("/srv/repo/.git"));
  CHECK(exclude.excluded("/srv/repo/.git/HEAD"));
  CHECK_FALSE(exclude.excluded("/srv/repo/.github/workflows"));
  CHECK_FALSE(exclude.excluded("/etc/passwd"));

  m.includeFiles = {R"(\.conf$)"};
  watcher::PathFilter include(m);
  CHECK(include.reported("/etc/app.conf", false));
  CHECK_FALSE(include.reported("/etc/passwd", false));
  CHECK(include.reported("/etc/app", true));                // directories are still walked and reported
  CHECK_FALSE(include.reported("/etc/x.conf.swp", false));  // exclude wins
}

TEST_CASE("roots: made absolute, symlinks resolved, duplicates and covered paths removed") {
  TempDir dir;
  const std::string root = dir.str();
  dir.write("a/b/file", "x");
  ::symlink((root + "/a").c_str(), (root + "/link").c_str());
  auto recursive = moduleFor(root + "/a", true);
  recursive.paths = {root + "/a/", root + "/link", root + "/a/b", root + "/a/../a"};
  auto other = moduleFor(root + "/ab", false);
  auto roots = watcher::resolveRoots({recursive, other});
  REQUIRE(roots.size() == 2);
  CHECK(roots[0].path == root + "/a");
  CHECK(roots[0].recursive);
  CHECK(roots[1].path == root + "/ab");  // a sibling with a common prefix is not covered
  CHECK(roots[1].module == 1);

  auto flat = moduleFor(root + "/a", false);
  flat.paths = {root + "/a", root + "/a/b"};
  CHECK(watcher::resolveRoots({flat}).size() == 2);  // a non-recursive parent does not cover a subdirectory's files
  CHECK(watcher::networkFileSystem(root).empty());
}

TEST_CASE("scanner: recursive walks the tree, non-recursive stops at direct children") {
  TempDir dir;
  const std::string root = dir.str();
  dir.write("a.txt", "hello");
  dir.write("sub/b.txt", "b");
  dir.write("sub/deeper/c.txt", "c");
  ::symlink((root + "/sub").c_str(), (root + "/link-to-sub").c_str());

  ScanResult flat;
  scan({moduleFor(root, false)}, flat);
  CHECK(flat.done);
  CHECK(flat.seen.size() == 4);  // root, a.txt, sub, link-to-sub
  CHECK((typeOf(flat, root) == events::FileType::Dir));
  CHECK((typeOf(flat, root + "/a.txt") == events::FileType::File));
  CHECK((typeOf(flat, root + "/sub") == events::FileType::Dir));
  CHECK((typeOf(flat, root + "/link-to-sub") == events::FileType::Symlink));

  ScanResult deep;
  scan({moduleFor(root, true)}, deep);
  CHECK(deep.seen.size() == 7);  // plus sub/b.txt, sub/deeper, sub/deeper/c.txt
  CHECK(deep.seen.count(root + "/sub/deeper/c.txt") == 1);
  CHECK(deep.seen.count(root + "/link-to-sub/b.txt") == 0);  // symlinked directories are never followed
  CHECK(deep.seen.at(root + "/link-to-sub").info.targetPath == root + "/sub");
}

TEST_CASE("scanner: hashes every configured type in one pass, skips files over max_file_size") {
  TempDir dir;
  dir.write("small", "hello world!\n");
  dir.write("big", std::string(2048, 'x'));
  auto m = moduleFor(dir.str(), false);
  m.hashTypes = {"sha1", "sha256", "xxh64"};
  m.maxFileSize = 1024;
  ScanResult r;
  scan({m}, r);
  const auto& small = r.seen.at(dir.str() + "/small").info;
  CHECK(small.hashes.size() == 3);
  CHECK(small.hashes.at(events::HashType::Sha1) == "f951b101989b2c3b7471710b4e78fc4dbdfa0ca6");
  CHECK(small.mimeType == "text/plain");
  const auto& big = r.seen.at(dir.str() + "/big").info;
  CHECK(big.hashes.empty());
  CHECK(big.size == 2048u);
  CHECK(r.metrics.counter("watcher.scan.over_max_file_size").value() == 1);
  CHECK(r.metrics.counter("watcher.scan.bytes_hashed").value() == 13);
}

TEST_CASE("scanner: an excluded directory is never entered, a missing root is skipped") {
  TempDir dir;
  const std::string root = dir.str();
  dir.write("keep/file", "x");
  for (int i = 0; i < 50; ++i) dir.write(".git/objects/" + std::to_string(i), "x");
  auto m = moduleFor(root, true);
  m.excludeFiles = {R"(/\.git($|/))"};
  auto missing = moduleFor(root + "/does-not-exist", true);
  ScanResult r;
  scan({m, missing}, r);
  CHECK(r.seen.size() == 3);  // root, keep, keep/file
  for (const auto& [path, o] : r.seen) CHECK(path.find(".git") == std::string::npos);
  CHECK(r.metrics.counter("watcher.scan.files").value() == 3);  // not one stat inside .git
}

TEST_CASE("scanner: FIFOs and sockets are reported by type and never opened") {
  TempDir dir;
  const std::string root = dir.str();
  REQUIRE(::mkfifo((root + "/fifo").c_str(), 0600) == 0);
  dir.write("five", "12345");
  ScanResult r;
  scan({moduleFor(root, false)}, r);  // a FIFO opened for reading would block here forever
  CHECK((typeOf(r, root + "/fifo") == events::FileType::Fifo));
  CHECK_FALSE(r.seen.at(root + "/fifo").info.size.has_value());
  CHECK(r.seen.at(root + "/fifo").info.hashes.empty());
  CHECK(r.seen.at(root + "/five").info.size == 5u);
}

namespace {
// Scans `root` and tells whether an event carried "failed to read directory" and the scan's
// summary counted it.
bool scanReportsUnreadableDirectory(const std::string& root) {
  ScanResult r;
  scan({moduleFor(root, true)}, r);
  if (r.metrics.counter("watcher.scan.errors").value() != 1) return false;
  for (const auto& [path, o] : r.seen) {
    if (o.errorMessage && o.errorMessage->find("failed to read directory") != std::string::npos) return true;
  }
  return false;
}
}  // namespace

TEST_CASE("scanner: an unreadable directory becomes an observation with an error message") {
  TempDir dir;
  dir.write("locked/secret", "x");
  ::chmod(dir.str().c_str(), 0755);
  ::chmod((dir.str() + "/locked").c_str(), 0);
  bool sawError = false;
  if (::geteuid() != 0) {
    sawError = scanReportsUnreadableDirectory(dir.str());
  } else {
    // Root reads every directory: scan as nobody in a child process instead.
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      const bool dropped = ::setgid(65534) == 0 && ::setuid(65534) == 0;
      ::_exit(dropped && scanReportsUnreadableDirectory(dir.str()) ? 0 : 1);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    sawError = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  ::chmod((dir.str() + "/locked").c_str(), 0700);
  CHECK(sawError);
}

namespace {

// The real baseline over an in-memory store, holding the records in byPath (written before each scan).
class MemoryPrior {
 public:
  std::map<std::string, events::FileInfo> byPath;

  MemoryPrior() = default;
  MemoryPrior(const MemoryPrior& other) : byPath(other.byPath) {}

  baseline::View& view() {
    store_ = std::make_unique<testing::MemoryStore>();
    core::WriteBatch batch;
    for (const auto& [path, info] : byPath) batch.put(core::Family::Baseline, path, baseline::encodeRecord(info));
    REQUIRE(store_->write(batch).has_value());
    baseline_ = std::make_unique<baseline::Baseline>(*store_, std::vector<baseline::RootInfo>{}, metrics_, clock_);
    return *baseline_;
  }

 private:
  core::Metrics metrics_;
  core::SystemClock clock_;
  std::unique_ptr<testing::MemoryStore> store_;
  std::unique_ptr<baseline::Baseline> baseline_;
};

struct PriorScan {
  std::map<std::string, events::PathSeen> observed;  // the paths that came as observations
  std::multiset<std::uint64_t> unchanged;              // the keys that came as unchanged
  bool done = false;
  std::vector<bool> rootsMatched;                      // the ScanDone's
  std::int64_t errors = 0;                             // watcher.scan.errors: what the summary counts
};

PriorScan scanWith(const config::ModuleConfig& module, MemoryPrior& records, std::size_t workers) {
  baseline::View* prior = &records.view();
  core::SystemClock clock;
  core::Metrics metrics;
  watcher::ScanOptions options;
  options.workers = workers;
  watcher::Scanner scanner({module}, watcher::resolveRoots({module}), prior, clock, metrics, options);
  core::BoundedQueue<events::Observation> queue(100000);
  std::stop_source stop;
  scanner.run(stop.get_token(), queue);
  PriorScan result;
  while (auto o = queue.tryPop()) {
    if (const auto* done = std::get_if<events::ScanDone>(&*o)) {
      CHECK(queue.size() == 0);  // the marker comes last
      result.done = true;
      result.rootsMatched = done->rootsMatched;
    } else if (const auto* unchanged = std::get_if<events::PathsUnchanged>(&*o)) {
      result.unchanged.insert(unchanged->keys.begin(), unchanged->keys.end());
    } else {
      REQUIRE(std::holds_alternative<events::PathSeen>(*o));
      const auto& seen = std::get<events::PathSeen>(*o);
      CHECK(result.observed.emplace(seen.info.path, seen).second);  // no path twice
    }
  }
  result.errors = metrics.counter("watcher.scan.errors").value();
  return result;
}

}  // namespace

TEST_CASE("scanner: walkers in parallel settle what the baseline records as it is, only changes are observed") {
  TempDir dir;
  for (int d = 0; d < 12; ++d) {
    for (int f = 0; f < 6; ++f) dir.write(fmt::format("d{}/s{}/f{}", d % 4, d, f), "x");
  }
  dir.write("top.txt", "top");
  auto module = moduleFor(dir.str(), true);
  module.hashTypes = {"sha256"};
  module.mimeType = false;

  MemoryPrior empty;
  const PriorScan first = scanWith(module, empty, 3);
  REQUIRE(first.done);
  CHECK(first.unchanged.empty());
  CHECK(first.observed.size() == 1 + 4 + 12 + 72 + 1);  // root, d*, s*, files, top.txt
  MemoryPrior prior;
  for (const auto& [path, o] : first.observed) prior.byPath[path] = o.info;

  const std::string rewritten = dir.str() + "/d1/s5/f2";
  const std::string chmodded = dir.str() + "/top.txt";
  const std::string unhashed = dir.str() + "/d3/s7/f0";
  {
    FILE* f = std::fopen(rewritten.c_str(), "w");  // in place: no directory entry changes
    REQUIRE(f != nullptr);
    std::fputs("changed", f);
    std::fclose(f);
  }
  ::chmod(chmodded.c_str(), 0600);
  prior.byPath[unhashed].hashes.clear();  // recorded before sha256 was configured

  for (std::size_t workers : {1u, 2u, 4u}) {
    CAPTURE(workers);
    const PriorScan second = scanWith(module, prior, workers);
    CHECK(second.done);
    std::set<std::string> observed;
    for (const auto& [path, o] : second.observed) observed.insert(path);
    // The root has no parent listing its record; the rest changed or lacks a configured hash.
    CHECK(observed == std::set<std::string>{dir.str(), rewritten, chmodded, unhashed});
    CHECK(second.observed.at(rewritten).info.size == 7u);
    std::multiset<std::uint64_t> expected;
    for (const auto& [path, info] : prior.byPath) {
      if (!observed.count(path)) expected.insert(core::pathKey(path));
    }
    CHECK(second.unchanged.size() == prior.byPath.size() - 4);
    CHECK(second.unchanged == expected);  // each exactly once
  }
}

namespace {

// A first scan of `module` recorded as the baseline: what the second scan compares with.
MemoryPrior recordFirstScan(const config::ModuleConfig& module) {
  MemoryPrior none;
  const PriorScan first = scanWith(module, none, 2);
  REQUIRE(first.done);
  MemoryPrior prior;
  for (const auto& [path, o] : first.observed) prior.byPath[path] = o.info;
  return prior;
}

}  // namespace

TEST_CASE("scanner: a second scan reads each directory's records in the store's order, names around '/' included") {
  TempDir dir;
  // Keys sort bytewise, so "s-x" and "s.y" ('-', '.' < '/') come between "s" and "s/...", and
  // "s0" ('0' > '/') after everything below "s".
  // Names sharing their first 8 bytes (and a '/' at the 8th) are ordered beyond that prefix too.
  for (const char* f : {"s/f", "s/t/g", "s-x", "s.y", "s0", "s1/h", "a", "z/z/z/z", "abcdefgh/i", "abcdefgh-x",
                        "abcdefgh.y", "abcdefgh0", "abcdefg/z", "abcdefg-q", "abcdefghij/k"}) {
    dir.write(f, "x");
  }
  auto module = moduleFor(dir.str(), true);
  module.mimeType = false;
  MemoryPrior prior = recordFirstScan(module);
  REQUIRE(prior.byPath.size() == 25);  // 15 files; the root, s, s/t, s1, z, z/z, z/z/z, abcdefg, abcdefgh, abcdefghij
  for (std::size_t workers : {1u, 2u, 3u}) {
    CAPTURE(workers);
    const PriorScan second = scanWith(module, prior, workers);
    REQUIRE(second.done);
    CHECK(second.observed.size() == 1);  // the root: no parent listed its record
    CHECK(second.unchanged.size() == prior.byPath.size() - 1);
    CHECK(second.rootsMatched == std::vector<bool>{true});  // nothing for the sweep to look for
  }
}

TEST_CASE("scanner: a record no path matched sends the sweep to that root, one it could not read does not") {
  TempDir dir;
  for (const char* f : {"keep/a", "gone/b", "gone/deep/c", "file", "skip/d", "locked/e"}) dir.write(f, "x");
  auto module = moduleFor(dir.str(), true);
  module.mimeType = false;
  MemoryPrior prior = recordFirstScan(module);

  SUBCASE("nothing changed") { CHECK(scanWith(module, prior, 2).rootsMatched == std::vector<bool>{true}); }
  SUBCASE("a file deleted") {
    ::unlink((dir.str() + "/file").c_str());
    CHECK(scanWith(module, prior, 2).rootsMatched == std::vector<bool>{false});
  }
  SUBCASE("a directory deleted with what was below it") {
    ::unlink((dir.str() + "/gone/deep/c").c_str());
    ::rmdir((dir.str() + "/gone/deep").c_str());
    ::unlink((dir.str() + "/gone/b").c_str());
    ::rmdir((dir.str() + "/gone").c_str());
    CHECK(scanWith(module, prior, 1).rootsMatched == std::vector<bool>{false});
  }
  SUBCASE("only a directory's subtree deleted") {
    ::unlink((dir.str() + "/gone/deep/c").c_str());
    CHECK(scanWith(module, prior, 1).rootsMatched == std::vector<bool>{false});
  }
  SUBCASE("a directory excluded since") {
    auto excluding = module;
    excluding.excludeFiles = {"/skip$"};
    CHECK(scanWith(excluding, prior, 2).rootsMatched == std::vector<bool>{false});
  }
  SUBCASE("the root no longer recursive: what was below its subdirectories") {
    auto flat = module;
    flat.recursive = false;
    CHECK(scanWith(flat, prior, 2).rootsMatched == std::vector<bool>{false});
  }
  SUBCASE("a directory that cannot be read keeps its records") {
    if (::geteuid() == 0) {
      // root reads any directory: drop to nobody for the scan, in a child process
      ::chmod(dir.str().c_str(), 0755);
      ::chmod((dir.str() + "/locked").c_str(), 0);
      const pid_t pid = ::fork();
      if (pid == 0) {
        if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(2);
        MemoryPrior copy = prior;
        const PriorScan second = scanWith(module, copy, 2);
        const bool errorReported = second.observed.count(dir.str() + "/locked") &&
                                   second.observed.at(dir.str() + "/locked").childrenUnknown;
        ::_exit(second.rootsMatched == std::vector<bool>{true} && errorReported ? 0 : 1);
      }
      int status = 0;
      ::waitpid(pid, &status, 0);
      ::chmod((dir.str() + "/locked").c_str(), 0700);
      CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    } else {
      ::chmod((dir.str() + "/locked").c_str(), 0);
      const PriorScan second = scanWith(module, prior, 2);
      ::chmod((dir.str() + "/locked").c_str(), 0700);
      CHECK(second.observed.at(dir.str() + "/locked").childrenUnknown);
      CHECK(second.rootsMatched == std::vector<bool>{true});
    }
  }
}

TEST_CASE("scanner: walkers hand over parts of a large subtree and every path is still settled or observed once") {
  TempDir dir;
  // One top directory holding everything: the second walker only gets work by a hand-over.
  for (int a = 0; a < 6; ++a) {
    for (int b = 0; b < 8; ++b) {
      for (int f = 0; f < 5; ++f) dir.write(fmt::format("top/a{}/b{}/f{}", a, b, f), "x");
    }
  }
  auto module = moduleFor(dir.str(), true);
  module.mimeType = false;
  MemoryPrior prior = recordFirstScan(module);
  for (int run = 0; run < 5; ++run) {
    const PriorScan second = scanWith(module, prior, 2);
    REQUIRE(second.done);
    CHECK(second.observed.size() == 1);  // the root
    std::multiset<std::uint64_t> expected;
    for (const auto& [path, info] : prior.byPath) {
      if (path != dir.str()) expected.insert(core::pathKey(path));
    }
    CHECK(second.unchanged == expected);  // each exactly once
    CHECK(second.rootsMatched == std::vector<bool>{true});
  }
}

TEST_CASE("scanner: a chain of directories deeper than PATH_MAX is scanned to its leaf, then settled unchanged") {
  TempDir dir;
  constexpr int kDepth = 450;  // 11 bytes a level: about 5,000 bytes of path, past PATH_MAX
  const std::string deepest = testing::makeChain(dir.str(), kDepth, "abcdefghij");
  const std::string leaf = deepest + "/leaf.txt";
  REQUIRE(leaf.size() > PATH_MAX);
  {
    auto bottom = watcher::openDirectoryUnder(dir.str(), deepest);
    REQUIRE(bottom.has_value());
    REQUIRE(testing::writeAt(bottom->get(), "leaf.txt", "deep"));
  }
  auto module = moduleFor(dir.str(), true);
  module.hashTypes = {"sha256"};
  module.mimeType = false;

  MemoryPrior empty;
  const PriorScan first = scanWith(module, empty, 2);
  REQUIRE(first.done);
  CHECK(first.errors == 0);
  CHECK(first.observed.size() == kDepth + 2);  // the root, every level, the leaf
  REQUIRE(first.observed.count(leaf) == 1);
  const events::PathSeen& seen = first.observed.at(leaf);
  CHECK_FALSE(seen.errorMessage.has_value());
  CHECK(seen.info.size == 4u);
  CHECK(seen.info.hashes.at(events::HashType::Sha256) ==
        "74611c1d6455b534323a21f8133a6f43dc3a8188e7b946f96dcc28dde932fcb2");  // sha256 of "deep"

  MemoryPrior prior;
  for (const auto& [path, o] : first.observed) prior.byPath[path] = o.info;
  const PriorScan second = scanWith(module, prior, 2);
  REQUIRE(second.done);
  CHECK(second.errors == 0);
  CHECK(second.observed.size() == 1);  // the root: no parent listed its record
  CHECK(second.unchanged.count(core::pathKey(leaf)) == 1);
  CHECK(second.rootsMatched == std::vector<bool>{true});

  {
    auto bottom = watcher::openDirectoryUnder(dir.str(), deepest);
    REQUIRE(bottom.has_value());
    REQUIRE(testing::writeAt(bottom->get(), "leaf.txt", "changed"));
  }
  const PriorScan third = scanWith(module, prior, 1);
  REQUIRE(third.done);
  REQUIRE(third.observed.count(leaf) == 1);
  CHECK(third.observed.at(leaf).info.size == 7u);
}
