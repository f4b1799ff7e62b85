#pragma once
// fimbeat's own directories (path.data and its RocksDB database, path.logs, the file output's
// directory) change with every event fimbeat reports. Inside a watched tree they would feed
// events back into the pipeline without end, so they are excluded from every module, and the
// fanotify backend asks the kernel not to report changes in them at all.

#include <string>
#include <vector>

#include "config/config.h"
#include "watcher/roots.h"

namespace fim::watcher {

struct OwnDirectory {
  std::string path;  // absolute, symlinks resolved where it exists
  std::string what;  // "data", "database", "logs", "output"
};

// The directories fimbeat writes in under `config`, in the order above, without duplicates.
std::vector<OwnDirectory> ownDirectories(const config::Config& config);

// `modules` with an exclude_files pattern for each own directory that lies under one of the
// module's roots (the directory and everything below it; logged once per directory; one inside
// another own directory is covered by that one's pattern).
std::vector<config::ModuleConfig> excludeOwnDirectories(std::vector<config::ModuleConfig> modules,
                                                        const std::vector<Root>& roots,
                                                        const std::vector<OwnDirectory>& own);

// The RE2 pattern that matches `directory` and every path below it, and nothing else.
std::string subtreePattern(const std::string& directory);

}  // namespace fim::watcher
