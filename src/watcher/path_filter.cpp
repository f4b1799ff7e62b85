#include "watcher/path_filter.h"

#include <re2/re2.h>

namespace fim::watcher {
namespace {

// Patterns were checked when the config was loaded, so Add cannot fail here.
std::unique_ptr<RE2::Set> compile(const std::vector<std::string>& patterns) {
  if (patterns.empty()) return nullptr;
  RE2::Options options;
  options.set_log_errors(false);
  auto set = std::make_unique<RE2::Set>(options, RE2::UNANCHORED);
  for (const auto& p : patterns) set->Add(p, nullptr);
  set->Compile();
  return set;
}

bool matches(const RE2::Set* set, std::string_view path) {
  if (!set) return false;
  return set->Match(re2::StringPiece(path.data(), path.size()), nullptr);  // whether any matches, not which
}

}  // namespace

PathFilter::PathFilter(const config::ModuleConfig& module)
    : exclude_(compile(module.excludeFiles)), include_(compile(module.includeFiles)) {}

bool PathFilter::excluded(std::string_view path) const { return matches(exclude_.get(), path); }

bool PathFilter::reported(std::string_view path, bool isDirectory) const {
  if (excluded(path)) return false;
  if (!include_ || isDirectory) return true;
  return matches(include_.get(), path);
}

}  // namespace fim::watcher
