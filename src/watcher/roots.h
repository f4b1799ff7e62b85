#pragma once
// Roots: the configured paths made absolute, symlinks resolved, duplicates and paths already
// covered by a recursive parent removed.

#include <string>
#include <vector>

#include "config/config.h"

namespace fim::watcher {

struct Root {
  std::string path;
  std::size_t module = 0;
  bool recursive = false;
};

std::vector<Root> resolveRoots(const std::vector<config::ModuleConfig>& modules);

// `configured` made absolute and normal, without a trailing slash, and with symlinks resolved
// where it exists.
std::string canonicalPath(const std::string& configured);

// The kind of network file system `path` is on ("nfs", "cifs", "fuse", ...), or "" when local.
std::string networkFileSystem(const std::string& path);

}  // namespace fim::watcher
