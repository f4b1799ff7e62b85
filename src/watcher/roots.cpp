#include "watcher/roots.h"

#include <sys/vfs.h>

#include <climits>
#include <cstdlib>
#include <filesystem>

namespace fim::watcher {
namespace {

bool covers(const Root& parent, const std::string& path) {
  if (parent.path == path) return true;
  if (!parent.recursive) return false;
  return path.starts_with(parent.path) && (parent.path == "/" || path[parent.path.size()] == '/');
}

}  // namespace

std::string canonicalPath(const std::string& configured) {
  std::string path = std::filesystem::absolute(configured).lexically_normal().string();
  if (path.size() > 1 && path.back() == '/') path.pop_back();
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved)) return resolved;
  return path;  // missing: kept as written, reported when scanned
}

std::vector<Root> resolveRoots(const std::vector<config::ModuleConfig>& modules) {
  std::vector<Root> candidates;
  for (std::size_t m = 0; m < modules.size(); ++m) {
    if (!modules[m].enabled) continue;
    for (const auto& p : modules[m].paths) candidates.push_back(Root{canonicalPath(p), m, modules[m].recursive});
  }
  std::vector<Root> roots;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    bool covered = false;
    for (std::size_t j = 0; j < candidates.size() && !covered; ++j) {
      if (i == j) continue;
      const bool duplicate = candidates[j].path == candidates[i].path;
      // Of two equal paths the recursive one, else the first, is kept.
      if (duplicate) {
        covered = (candidates[j].recursive && !candidates[i].recursive) ||
                  (candidates[j].recursive == candidates[i].recursive && j < i);
      } else {
        covered = covers(candidates[j], candidates[i].path);
      }
    }
    if (!covered) roots.push_back(candidates[i]);
  }
  return roots;
}

std::string networkFileSystem(const std::string& path) {
  struct statfs fs {};
  if (::statfs(path.c_str(), &fs) != 0) return "";
  switch (static_cast<unsigned long>(fs.f_type)) {
    case 0x6969: return "nfs";
    case 0x517B: return "smb";
    case 0xFF534D42: return "cifs";
    case 0xFE534D42: return "smb2";
    case 0x65735546: return "fuse (sshfs, glusterfs, ...)";
    case 0x00C36400: return "ceph";
    case 0x5346414F: return "afs";
    case 0x01021997: return "9p";
    case 0x61756673: return "aufs";
    case 0x013111A8: return "ibrix";
    case 0x0BD00BD0: return "lustre";
    case 0x6B414653: return "kafs";
    case 0x47504653: return "gpfs";
    default: return "";
  }
}

}  // namespace fim::watcher
