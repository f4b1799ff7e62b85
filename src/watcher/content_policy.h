#pragma once
// ContentPolicy: which files' content a module keeps for diffs (diff.enabled, diff.max_file_size,
// diff.exclude_files), and the text it keeps: never a binary file's, and with the lines that
// diff.redact matches replaced by [REDACTED] before the content leaves the watcher.

#include <re2/re2.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace fim::watcher {

inline constexpr std::string_view kRedacted = "[REDACTED]";

class ContentPolicy {
 public:
  explicit ContentPolicy(const config::DiffConfig& diff);

  bool enabled() const { return enabled_; }
  // The most a kept content may have: a file read for hashing keeps its bytes up to this size.
  std::uint64_t maxFileSize() const { return maxFileSize_; }
  // Whether the content of the regular file at `path` is to be kept (checked before it is read).
  bool wants(std::string_view path) const;
  // The text to keep of `content`: nullopt for a binary file (a NUL byte, as diff(1) and git decide).
  std::optional<std::string> text(std::string content) const;

 private:
  bool enabled_;
  std::uint64_t maxFileSize_;
  std::vector<std::unique_ptr<RE2>> exclude_;
  std::unique_ptr<RE2> redact_;  // the patterns as one alternation; null when there are none
};

// Each line of `text` that `pattern` matches (anywhere in it) replaced by [REDACTED].
std::string redactLines(std::string_view text, const RE2& pattern);

}  // namespace fim::watcher
