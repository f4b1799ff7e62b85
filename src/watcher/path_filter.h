#pragma once
// PathFilter: a module's exclude_files / include_files (RE2, unanchored, on the absolute path).

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <re2/set.h>

#include "config/config.h"

namespace fim::watcher {

class PathFilter {
 public:
  explicit PathFilter(const config::ModuleConfig& module);

  // Excluded paths are neither reported nor, for directories, entered.
  bool excluded(std::string_view path) const;
  // Reported: not excluded and, when include patterns exist, a directory or a match of one.
  bool reported(std::string_view path, bool isDirectory) const;
  // False when neither kind of pattern is configured: every path is reported, none excluded.
  bool hasPatterns() const { return exclude_ != nullptr || include_ != nullptr; }

 private:
  std::unique_ptr<RE2::Set> exclude_;
  std::unique_ptr<RE2::Set> include_;
};

}  // namespace fim::watcher
