#include "core/metrics.h"

#include <algorithm>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace fim::core {

namespace {

constexpr std::string_view kLeafKey = "value";
constexpr std::string_view kFallbackLeafKey = "";  // segments are never empty, so never taken

void checkName(const std::string& name) {
  bool segmentEmpty = true;
  for (char c : name) {
    if (c == '.') {
      if (segmentEmpty) break;
      segmentEmpty = true;
    } else {
      segmentEmpty = false;
    }
  }
  if (segmentEmpty) throw std::invalid_argument("metric name '" + name + "' has an empty segment");
}

// One level of the dotted-name tree: a metric may sit on a node that also has children.
struct Node {
  std::optional<std::int64_t> value;
  std::map<std::string, Node, std::less<>> children;
};

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void writeKey(JsonWriter& writer, std::string_view key) {
  writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}

void writeNode(JsonWriter& writer, const Node& node) {
  if (node.children.empty()) {
    writer.Int64(node.value.value_or(0));
    return;
  }
  writer.StartObject();
  for (const auto& [key, child] : node.children) {
    writeKey(writer, key);
    writeNode(writer, child);
  }
  if (node.value) {
    const bool taken = node.children.contains(kLeafKey);
    writeKey(writer, taken ? kFallbackLeafKey : kLeafKey);
    writer.Int64(*node.value);
  }
  writer.EndObject();
}

}  // namespace

template <typename Metric>
Metric& Metrics::findOrCreate(std::map<std::string, std::unique_ptr<Metric>, std::less<>>& mine,
                              const auto& other, const std::string& name) {
  {
    std::shared_lock lock(mutex_);
    if (auto it = mine.find(name); it != mine.end()) return *it->second;
  }
  checkName(name);
  std::unique_lock lock(mutex_);
  if (other.contains(name)) {
    throw std::logic_error("metric '" + name + "' already exists as a different kind");
  }
  auto& slot = mine[name];
  if (!slot) slot = std::make_unique<Metric>();  // another thread may have won the race
  return *slot;
}

Counter& Metrics::counter(const std::string& name) { return findOrCreate(counters_, gauges_, name); }

Gauge& Metrics::gauge(const std::string& name) { return findOrCreate(gauges_, counters_, name); }

std::vector<std::pair<std::string, std::int64_t>> Metrics::snapshot() const {
  std::vector<std::pair<std::string, std::int64_t>> out;
  {
    std::shared_lock lock(mutex_);
    out.reserve(counters_.size() + gauges_.size());
    for (const auto& [name, c] : counters_) out.emplace_back(name, c->value());
    for (const auto& [name, g] : gauges_) out.emplace_back(name, g->value());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string Metrics::toJson() const {
  Node root;
  for (const auto& [name, value] : snapshot()) {
    Node* node = &root;
    std::string_view rest = name;
    while (true) {
      const auto dot = rest.find('.');
      node = &node->children[std::string(rest.substr(0, dot))];
      if (dot == std::string_view::npos) break;
      rest.remove_prefix(dot + 1);
    }
    node->value = value;
  }

  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  if (root.children.empty()) {
    writer.StartObject();
    writer.EndObject();
  } else {
    writeNode(writer, root);
  }
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace fim::core
