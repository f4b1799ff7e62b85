#pragma once
// RootAliases: the top-level symlinks to directories of the file system packages were installed
// into (merged /usr: /bin → usr/bin). Package databases name the packaged path; fimbeat watches
// resolved paths, so a packaged /bin/ls is observed as /usr/bin/ls.

#include <string>
#include <unordered_map>

namespace fim::watcher {

class RootAliases {
 public:
  RootAliases() = default;
  explicit RootAliases(const std::string& rootDir);  // reads rootDir's top-level symlinks

  // `path` (absolute) with its first component resolved when that is an alias.
  std::string resolve(std::string path) const;

 private:
  std::unordered_map<std::string, std::string> aliases_;  // "/bin" → "/usr/bin"
};

}  // namespace fim::watcher
