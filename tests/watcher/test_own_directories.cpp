#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>

#include "support/temp_dir.h"
#include "watcher/own_directories.h"
#include "watcher/path_filter.h"
#include "watcher/roots.h"

using namespace fim;
using fim::testing::TempDir;

namespace {

config::ModuleConfig moduleWatching(const std::string& path) {
  config::ModuleConfig m;
  m.paths = {path};
  m.recursive = true;
  return m;
}

}  // namespace

TEST_CASE("own directories: the subtree pattern matches the directory and what is below it, nothing else") {
  const std::string dir = "/srv/a+b (x)/data.d";  // RE2 metacharacters are quoted
  config::ModuleConfig m;
  m.excludeFiles = {watcher::subtreePattern(dir)};
  watcher::PathFilter filter(m);
  CHECK(filter.excluded(dir));
  CHECK(filter.excluded(dir + "/fimbeat.db/000123.log"));
  CHECK_FALSE(filter.excluded("/srv/a+b (x)/data.dx"));
  CHECK_FALSE(filter.excluded("/srv/a+b (x)/data.d2/f"));
  CHECK_FALSE(filter.excluded("/srv/aab x/data.d"));
  CHECK_FALSE(filter.excluded("/other" + dir));
}

TEST_CASE("own directories: data, its database, logs and the file output, without duplicates") {
  TempDir tmp;
  const std::string root = tmp.path().string();
  config::Config config;
  config.paths.data = root + "/data";
  config.paths.logs = root + "/logs";
  config.logging.toFiles = true;
  config.output.kind = config::OutputKind::File;
  config.output.file.path = root + "/data/";  // the same directory as path.data, written differently
  const auto own = watcher::ownDirectories(config);
  REQUIRE(own.size() == 3);
  CHECK(own[0].path == root + "/data");
  CHECK(own[0].what == "data");
  CHECK(own[1].path == root + "/data/fimbeat.db");
  CHECK(own[2].path == root + "/logs");

  config.logging.toFiles = false;
  config.output.kind = config::OutputKind::Console;
  CHECK(watcher::ownDirectories(config).size() == 2);
}

TEST_CASE("own directories: excluded only from the modules whose roots contain them") {
  TempDir tmp;
  const std::string root = tmp.path().string();
  std::filesystem::create_directories(root + "/watched/state/data/fimbeat.db");
  std::filesystem::create_directories(root + "/elsewhere");
  std::vector<config::ModuleConfig> modules{moduleWatching(root + "/watched"),
                                            moduleWatching(root + "/elsewhere")};
  modules[0].excludeFiles = {"~$"};
  const auto roots = watcher::resolveRoots(modules);
  const std::vector<watcher::OwnDirectory> own{{root + "/watched/state/data", "data"},
                                               {root + "/watched/state/data/fimbeat.db", "database"},
                                               {root + "/logs", "logs"}};
  const auto result = watcher::excludeOwnDirectories(modules, roots, own);
  REQUIRE(result.size() == 2);
  // The user's pattern stays; one pattern covers the data directory and the database inside it.
  CHECK(result[0].excludeFiles == std::vector<std::string>{"~$", watcher::subtreePattern(own[0].path)});
  CHECK(result[1].excludeFiles.empty());
  watcher::PathFilter filter(result[0]);
  CHECK(filter.excluded(root + "/watched/state/data/fimbeat.db/CURRENT"));
  CHECK_FALSE(filter.excluded(root + "/watched/state/notes.txt"));
}
