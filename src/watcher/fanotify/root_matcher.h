#pragma once
// RootMatcher: the user-space filter of a filesystem-wide fanotify mark. A path is reported when
// it is a configured root, below a recursive root, or a direct child of a non-recursive root, and
// its module's excludes reject neither it nor any directory between the root and it.

#include <optional>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "watcher/path_filter.h"
#include "watcher/roots.h"

namespace fim::watcher::fanotify {

class RootMatcher {
 public:
  RootMatcher(std::vector<Root> roots, const std::vector<config::ModuleConfig>& modules);

  // The index of the root that reports `path`, or nullopt. Of nested roots the deepest decides.
  std::optional<std::size_t> match(std::string_view path, bool isDirectory) const;

  const std::vector<Root>& roots() const { return roots_; }

 private:
  std::optional<std::size_t> coveringRoot(std::string_view path) const;
  bool excludedBetween(const Root& root, const PathFilter& filter, std::string_view path) const;

  std::vector<Root> roots_;
  std::vector<PathFilter> filters_;  // per module
};

// "/a/b" for "/a/b/c"; "/" for "/c".
std::string_view parentOf(std::string_view path);

}  // namespace fim::watcher::fanotify
