#include "config/diagnostics.h"

#include <algorithm>

namespace fim::config {

std::string Diagnostic::describe() const {
  return origin.describe() + ": " + keyPath + ": " + message;
}

void Diagnostics::error(const Origin& origin, std::string keyPath, std::string message) {
  errors_.push_back(Diagnostic{origin, std::move(keyPath), std::move(message)});
}

void Diagnostics::warn(const Origin& origin, std::string keyPath, std::string message) {
  warnings_.push_back(Diagnostic{origin, std::move(keyPath), std::move(message)});
}

std::string Diagnostics::errorReport() const {
  std::string out;
  for (const auto& e : errors_) {
    if (!out.empty()) out += '\n';
    out += e.describe();
  }
  return out;
}

namespace {

std::size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t substitution = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, substitution});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::string closestMatch(std::string_view word, const std::vector<std::string>& candidates) {
  const std::size_t limit = std::max<std::size_t>(2, word.size() / 3);
  std::string best;
  std::size_t bestDistance = limit + 1;
  for (const auto& c : candidates) {
    const std::size_t d = editDistance(word, c);
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return best;
}

std::string joinPath(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return std::string(parent) + "." + std::string(key);
}

}  // namespace fim::config
