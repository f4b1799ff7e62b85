#include <doctest/doctest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "core/metrics.h"
#include "support/temp_dir.h"
#include "watcher/path_filter.h"
#include "watcher/scanner.h"

using namespace fim;
using fim::testing::TempDir;

namespace {

config::ModuleConfig moduleFor(const std::string& root, bool recursive) {
  config::ModuleConfig m;
  m.paths = {root};
  m.recursive = recursive;
  return m;
}

// Runs one scan and returns path → type of every event.
std::map<std::string, core::FileType> scan(const std::vector<config::ModuleConfig>& modules) {
  core::SystemClock clock;
  core::Metrics metrics;
  watcher::Scanner scanner(modules, clock, metrics);
  core::BoundedQueue<core::FileEvent> queue(100000);
  std::stop_source stop;
  scanner.run(stop.get_token(), queue);
  std::map<std::string, core::FileType> seen;
  while (auto e = queue.tryPop()) {
    CHECK((e->actions == std::vector<core::Action>{core::Action::InitialScan}));
    CHECK(seen.emplace(e->file.path, e->file.type).second);  // no path twice
  }
  return seen;
}

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
  CHECK(include.reported("/etc/app", true));            // directories are still walked and reported
  CHECK_FALSE(include.reported("/etc/x.conf.swp", false));  // exclude wins
}

TEST_CASE("scanner: recursive walks the tree, non-recursive stops at direct children") {
  TempDir dir;
  const std::string root = dir.str();
  dir.write("a.txt", "hello");
  dir.write("sub/b.txt", "b");
  dir.write("sub/deeper/c.txt", "c");
  ::symlink((root + "/sub").c_str(), (root + "/link-to-sub").c_str());

  auto flat = scan({moduleFor(root, false)});
  CHECK(flat.size() == 4);  // root, a.txt, sub, link-to-sub
  CHECK((flat.at(root) == core::FileType::Dir));
  CHECK((flat.at(root + "/a.txt") == core::FileType::File));
  CHECK((flat.at(root + "/sub") == core::FileType::Dir));
  CHECK((flat.at(root + "/link-to-sub") == core::FileType::Symlink));

  auto deep = scan({moduleFor(root, true)});
  CHECK(deep.size() == 7);  // plus sub/b.txt, sub/deeper, sub/deeper/c.txt
  CHECK(deep.count(root + "/sub/deeper/c.txt") == 1);
  CHECK(deep.count(root + "/link-to-sub/b.txt") == 0);  // symlinked directories are never followed
}

TEST_CASE("scanner: an excluded directory is not entered, a missing root is skipped") {
  TempDir dir;
  const std::string root = dir.str();
  dir.write("keep/file", "x");
  dir.write(".git/objects/ab/cdef", "x");
  auto m = moduleFor(root, true);
  m.excludeFiles = {R"(/\.git($|/))"};
  auto missing = moduleFor(root + "/does-not-exist", true);
  auto seen = scan({m, missing});
  CHECK(seen.size() == 3);  // root, keep, keep/file
  for (const auto& [path, type] : seen) CHECK(path.find(".git") == std::string::npos);
}

TEST_CASE("scanner: special files are reported by type, sizes only for regular files") {
  TempDir dir;
  const std::string root = dir.str();
  ::mkfifo((root + "/fifo").c_str(), 0600);
  dir.write("five", "12345");
  core::SystemClock clock;
  core::Metrics metrics;
  watcher::Scanner scanner({moduleFor(root, false)}, clock, metrics);
  core::BoundedQueue<core::FileEvent> queue(100);
  std::stop_source stop;
  scanner.run(stop.get_token(), queue);
  std::map<std::string, core::FileInfo> seen;
  while (auto e = queue.tryPop()) seen[e->file.path] = e->file;
  CHECK((seen.at(root + "/fifo").type == core::FileType::Fifo));
  CHECK_FALSE(seen.at(root + "/fifo").size.has_value());
  CHECK(seen.at(root + "/five").size == 5u);
  CHECK_FALSE(seen.at(root).size.has_value());
  CHECK(metrics.counter("watcher.scan.paths").value() == 3);
}

// Scans `root` and tells whether an event carried "failed to read directory".
bool scanReportsUnreadableDirectory(const std::string& root) {
  core::SystemClock clock;
  core::Metrics metrics;
  watcher::Scanner scanner({moduleFor(root, true)}, clock, metrics);
  core::BoundedQueue<core::FileEvent> queue(100);
  std::stop_source stop;
  scanner.run(stop.get_token(), queue);
  bool sawError = false;
  while (auto e = queue.tryPop()) {
    if (e->errorMessage && e->errorMessage->find("failed to read directory") != std::string::npos) sawError = true;
  }
  return sawError && metrics.counter("watcher.scan.errors").value() == 1;
}

TEST_CASE("scanner: an unreadable directory becomes an event with error.message") {
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
