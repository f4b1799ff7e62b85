#include "watcher/package/root_aliases.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fim::watcher {

RootAliases::RootAliases(const std::string& rootDir) {
  DIR* dir = ::opendir(rootDir.c_str());
  if (!dir) return;
  const std::string base = rootDir.ends_with('/') ? rootDir : rootDir + "/";
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    struct stat st {};
    if (::lstat((base + name).c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) continue;
    if (::stat((base + name).c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    char target[4096];
    const ssize_t n = ::readlink((base + name).c_str(), target, sizeof target - 1);
    if (n <= 0) continue;
    std::string to(target, static_cast<std::size_t>(n));
    if (!to.starts_with('/')) to = "/" + to;
    while (to.size() > 1 && to.ends_with('/')) to.pop_back();
    if (to.find("/..") != std::string::npos || to.find("/./") != std::string::npos) continue;  // keep it simple
    aliases_.emplace("/" + name, std::move(to));
  }
  ::closedir(dir);
}

std::string RootAliases::resolve(std::string path) const {
  const auto slash = path.find('/', 1);
  if (slash != std::string::npos) {
    if (auto a = aliases_.find(path.substr(0, slash)); a != aliases_.end()) path = a->second + path.substr(slash);
  }
  return path;
}

}  // namespace fim::watcher
