#include "watcher/content_policy.h"

namespace fim::watcher {

ContentPolicy::ContentPolicy(const config::DiffConfig& diff) : enabled_(diff.enabled), maxFileSize_(diff.maxFileSize) {
  if (!enabled_) return;
  for (const auto& pattern : diff.excludeFiles) exclude_.push_back(std::make_unique<RE2>(pattern, RE2::Quiet));
  std::string all;
  for (const auto& pattern : diff.redact) {
    if (!all.empty()) all += '|';
    all.append("(?:").append(pattern).append(")");
  }
  if (!all.empty()) redact_ = std::make_unique<RE2>(all, RE2::Quiet);
}

bool ContentPolicy::wants(std::string_view path) const {
  if (!enabled_) return false;
  for (const auto& re : exclude_) {
    if (re->ok() && RE2::PartialMatch(path, *re)) return false;
  }
  return true;
}

std::optional<std::string> ContentPolicy::text(std::string content) const {
  if (content.find('\0') != std::string::npos) return std::nullopt;
  if (!redact_ || !redact_->ok()) return content;
  return redactLines(content, *redact_);
}

std::string redactLines(std::string_view text, const RE2& pattern) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    out.append(RE2::PartialMatch(line, pattern) ? kRedacted : line);
    if (nl == std::string_view::npos) break;
    out.push_back('\n');
    text.remove_prefix(nl + 1);
  }
  return out;
}

}  // namespace fim::watcher
