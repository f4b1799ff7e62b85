#include "config/map_reader.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace fim::config {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string quoteList(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& v : values) {
    if (!out.empty()) out += ", ";
    out += v;
  }
  return out;
}

}  // namespace

std::string describeValue(const Node& node) {
  if (node.isScalar()) return "\"" + node.scalar + "\"";
  return node.kindName();
}

MapReader::MapReader(const Node* node, std::string path, Diagnostics& diagnostics)
    : node_(node), path_(std::move(path)), diagnostics_(diagnostics) {
  if (node_ && !node_->isMap() && !node_->isNull()) {
    diagnostics_.error(node_->origin, path_, "expected a map of options, got " + describeValue(*node_));
  }
  if (node_ && !node_->isMap()) node_ = nullptr;
}

bool MapReader::has(std::string_view key) const { return node_ && node_->get(key) != nullptr; }

const Node* MapReader::take(std::string_view key) {
  known_.emplace_back(key);
  return node_ ? node_->get(key) : nullptr;
}

void MapReader::invalid(const Node& value, std::string_view key, std::string message) {
  diagnostics_.error(value.origin, keyPath(key), std::move(message));
}

const Node* MapReader::scalarOf(std::string_view key) {
  const Node* value = take(key);
  if (!value) return nullptr;
  if (value->isNull()) return nullptr;  // `key:` with nothing keeps the default, as in beats
  if (!value->isScalar()) {
    invalid(*value, key, "expected a single value, got " + value->kindName());
    return nullptr;
  }
  return value;
}

void MapReader::boolean(std::string_view key, bool& out) {
  const Node* value = scalarOf(key);
  if (!value) return;
  const std::string v = lower(value->scalar);
  if (v == "true" || v == "yes" || v == "on") {
    out = true;
  } else if (v == "false" || v == "no" || v == "off") {
    out = false;
  } else {
    invalid(*value, key, "expected true or false, got " + describeValue(*value));
  }
}

void MapReader::string(std::string_view key, std::string& out) {
  if (const Node* value = scalarOf(key)) out = value->scalar;
}

void MapReader::integer(std::string_view key, std::int64_t& out, std::int64_t min, std::int64_t max) {
  const Node* value = scalarOf(key);
  if (!value) return;
  std::int64_t parsed = 0;
  const auto& s = value->scalar;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), parsed);
  if (ec != std::errc() || end != s.data() + s.size()) {
    invalid(*value, key, "expected an integer, got " + describeValue(*value));
  } else if (parsed < min || parsed > max) {
    invalid(*value, key, fmt::format("must be between {} and {}, got {}", min, max, parsed));
  } else {
    out = parsed;
  }
}

void MapReader::integer(std::string_view key, int& out, int min, int max) {
  std::int64_t wide = out;
  integer(key, wide, min, max);
  out = static_cast<int>(wide);
}

void MapReader::size(std::string_view key, std::uint64_t& out) {
  const Node* value = scalarOf(key);
  if (!value) return;
  if (auto parsed = parseSize(value->scalar)) {
    out = *parsed;
  } else {
    invalid(*value, key, parsed.error().message());
  }
}

void MapReader::duration(std::string_view key, Duration& out) {
  const Node* value = scalarOf(key);
  if (!value) return;
  if (auto parsed = parseDuration(value->scalar)) {
    out = *parsed;
  } else {
    invalid(*value, key, parsed.error().message());
  }
}

void MapReader::fileMode(std::string_view key, unsigned& out) {
  const Node* value = scalarOf(key);
  if (!value) return;
  std::string s = value->scalar;
  int base = 10;
  if (s.starts_with("0o") || s.starts_with("0O")) {
    s = s.substr(2);
    base = 8;
  } else if (s.size() > 1 && s[0] == '0') {
    base = 8;  // YAML 1.1 octal, as beats users write 0600
  }
  unsigned parsed = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), parsed, base);
  if (ec != std::errc() || end != s.data() + s.size() || parsed > 07777) {
    invalid(*value, key, "expected a file mode such as 0600, got " + describeValue(*value));
  } else {
    out = parsed;
  }
}

void MapReader::strings(std::string_view key, std::vector<std::string>& out) {
  const Node* value = take(key);
  if (!value || value->isNull()) return;
  if (value->isScalar()) {
    out = {value->scalar};
    return;
  }
  if (!value->isSequence()) {
    invalid(*value, key, "expected a list of values, got " + value->kindName());
    return;
  }
  std::vector<std::string> result;
  for (std::size_t i = 0; i < value->items.size(); ++i) {
    const Node& item = value->items[i];
    if (!item.isScalar()) {
      diagnostics_.error(item.origin, keyPath(key) + "." + std::to_string(i),
                         "expected a single value, got " + item.kindName());
      return;
    }
    result.push_back(item.scalar);
  }
  out = std::move(result);
}

void MapReader::stringMap(std::string_view key, std::map<std::string, std::string>& out) {
  const Node* value = take(key);
  if (!value || value->isNull()) return;
  if (!value->isMap()) {
    invalid(*value, key, "expected a map of names to values, got " + value->kindName());
    return;
  }
  for (const auto& e : value->entries) {
    if (!e.value.isScalar()) {
      diagnostics_.error(e.value.origin, keyPath(key) + "." + e.key, "expected a single value, got " + e.value.kindName());
      continue;
    }
    out[e.key] = e.value.scalar;
  }
}

void MapReader::oneOf(std::string_view key, std::string& out, const std::vector<std::string>& allowed) {
  const Node* value = scalarOf(key);
  if (!value) return;
  if (std::find(allowed.begin(), allowed.end(), value->scalar) == allowed.end()) {
    invalid(*value, key, fmt::format("{} is not one of: {}", describeValue(*value), quoteList(allowed)));
  } else {
    out = value->scalar;
  }
}

void MapReader::notImplemented(std::string_view key, std::string_view why) {
  if (const Node* value = take(key)) warnLeaves(*value, keyPath(key), why, diagnostics_);
}

void MapReader::finish() {
  if (!node_) return;
  for (const auto& e : node_->entries) {
    if (std::find(known_.begin(), known_.end(), e.key) != known_.end()) continue;
    std::string message = "unknown option \"" + e.key + "\"";
    const std::string suggestion = closestMatch(e.key, known_);
    if (!suggestion.empty()) {
      message += "; did you mean \"" + joinPath(path_, suggestion) + "\"?";
    } else if (!known_.empty()) {
      std::vector<std::string> sorted = known_;
      std::sort(sorted.begin(), sorted.end());
      sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
      message += "; known options here: " + quoteList(sorted);
    }
    diagnostics_.error(e.keyOrigin, keyPath(e.key), message);
  }
}

void warnLeaves(const Node& node, const std::string& path, std::string_view why, Diagnostics& diagnostics) {
  if (node.isMap() && !node.entries.empty()) {
    for (const auto& e : node.entries) warnLeaves(e.value, joinPath(path, e.key), why, diagnostics);
    return;
  }
  diagnostics.warn(node.origin, path, "accepted but not implemented yet, it has no effect (" + std::string(why) + ")");
}

}  // namespace fim::config
