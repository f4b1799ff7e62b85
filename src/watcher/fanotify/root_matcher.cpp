#include "watcher/fanotify/root_matcher.h"

#include "core/paths.h"

namespace fim::watcher::fanotify {

std::string_view parentOf(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return {};
  return slash == 0 ? path.substr(0, 1) : path.substr(0, slash);
}

RootMatcher::RootMatcher(std::vector<Root> roots, const std::vector<config::ModuleConfig>& modules)
    : roots_(std::move(roots)) {
  filters_.reserve(modules.size());
  for (const auto& m : modules) filters_.emplace_back(m);
}

std::optional<std::size_t> RootMatcher::coveringRoot(std::string_view path) const {
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < roots_.size(); ++i) {
    const Root& root = roots_[i];
    const bool covers = path == root.path || (root.recursive ? core::isWithin(path, root.path) : parentOf(path) == root.path);
    if (covers && (!best || root.path.size() > roots_[*best].path.size())) best = i;
  }
  return best;
}

bool RootMatcher::excludedBetween(const Root& root, const PathFilter& filter, std::string_view path) const {
  // The directories from the root down to the path's parent: an excluded one is never entered.
  for (std::string_view dir = parentOf(path); dir.size() >= root.path.size(); dir = parentOf(dir)) {
    if (filter.excluded(dir)) return true;
    if (dir.size() == root.path.size() || dir == "/") break;
  }
  return false;
}

std::optional<std::size_t> RootMatcher::match(std::string_view path, bool isDirectory) const {
  const std::optional<std::size_t> index = coveringRoot(path);
  if (!index) return std::nullopt;
  const Root& root = roots_[*index];
  if (root.module >= filters_.size()) return std::nullopt;
  const PathFilter& filter = filters_[root.module];
  if (path != root.path && excludedBetween(root, filter, path)) return std::nullopt;
  if (!filter.reported(path, isDirectory)) return std::nullopt;
  return index;
}

}  // namespace fim::watcher::fanotify
