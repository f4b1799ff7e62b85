#include "watcher/own_directories.h"

#include <algorithm>

#include <re2/re2.h>

#include "core/logging.h"
#include "core/paths.h"

namespace fim::watcher {

std::vector<OwnDirectory> ownDirectories(const config::Config& config) {
  std::vector<OwnDirectory> own;
  const auto add = [&](const std::string& path, const char* what) {
    if (path.empty()) return;
    OwnDirectory d{canonicalPath(path), what};
    for (const auto& o : own) {
      if (o.path == d.path) return;
    }
    own.push_back(std::move(d));
  };
  add(config.paths.data, "data");
  add(config.paths.data + "/fimbeat.db", "database");
  if (config.logging.toFiles) add(config.logging.filesPath.empty() ? config.paths.logs : config.logging.filesPath, "logs");
  if (config.output.kind == config::OutputKind::File) add(config.output.file.path, "output");
  return own;
}

std::string subtreePattern(const std::string& directory) {
  const std::string quoted = RE2::QuoteMeta(re2::StringPiece(directory.data(), directory.size()));
  return directory == "/" ? std::string("^/") : "^" + quoted + "(?:/|$)";
}

std::vector<config::ModuleConfig> excludeOwnDirectories(std::vector<config::ModuleConfig> modules,
                                                        const std::vector<Root>& roots,
                                                        const std::vector<OwnDirectory>& own) {
  for (std::size_t i = 0; i < own.size(); ++i) {
    const OwnDirectory& dir = own[i];
    const bool coveredAlready =
        std::any_of(own.begin(), own.begin() + static_cast<std::ptrdiff_t>(i), [&](const OwnDirectory& earlier) {
          return core::isWithin(dir.path, earlier.path);
        });
    if (coveredAlready) continue;
    bool logged = false;
    for (const auto& root : roots) {
      if (!core::isWithin(dir.path, root.path) || root.module >= modules.size()) continue;
      auto& excludes = modules[root.module].excludeFiles;
      const std::string pattern = subtreePattern(dir.path);
      if (std::find(excludes.begin(), excludes.end(), pattern) == excludes.end()) excludes.push_back(pattern);
      if (!logged) {
        core::logger("watcher").info("{} is fimbeat's own {} directory, inside watched path {}: it is not watched "
                                     "(its files change with every event)",
                                     dir.path, dir.what, root.path);
        logged = true;
      }
    }
  }
  return modules;
}

}  // namespace fim::watcher
