#include "config/node.h"

#include <yaml-cpp/yaml.h>

namespace fim::config {
namespace {

std::vector<std::string> splitDots(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = path.find('.', start);
    parts.emplace_back(path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts;
}

int lineOf(const YAML::Node& yaml) {
  const YAML::Mark mark = yaml.Mark();
  return mark.line < 0 ? 0 : mark.line + 1;
}

}  // namespace

std::string Origin::describe() const {
  if (line > 0) return source + ":" + std::to_string(line);
  return source.empty() ? std::string("(default)") : source;
}

Node Node::map(Origin origin) {
  Node node;
  node.kind = Kind::Map;
  node.origin = std::move(origin);
  return node;
}

Node Node::scalarValue(std::string value, Origin origin) {
  Node node;
  node.kind = Kind::Scalar;
  node.scalar = std::move(value);
  node.origin = std::move(origin);
  return node;
}

namespace {

// A YAML alias repeats what its anchor holds, so ten lines of aliases of aliases can expand to
// billions of values ("billion laughs"). The expanded tree is capped, like go-yaml caps Beats'.
constexpr std::size_t kMaxValues = 100'000;

struct TooManyValues {};

}  // namespace

core::Result<Node> Node::fromYaml(const YAML::Node& yaml, const std::string& source) {
  std::size_t budget = kMaxValues;
  try {
    return fromYaml(yaml, source, budget);
  } catch (const TooManyValues&) {
    return core::failf(core::ErrorCode::Parse,
                       "{}: the configuration expands to more than {} values through YAML aliases (an alias "
                       "repeats its anchor's whole content); refused",
                       source, kMaxValues);
  }
}

Node Node::fromYaml(const YAML::Node& yaml, const std::string& source, std::size_t& budget) {
  if (budget == 0) throw TooManyValues{};
  --budget;
  Node node;
  node.origin = Origin{source, lineOf(yaml)};
  switch (yaml.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      node.kind = Kind::Null;
      break;
    case YAML::NodeType::Scalar:
      node.kind = Kind::Scalar;
      node.scalar = yaml.Scalar();
      node.quoted = yaml.Tag() == "!" || yaml.Tag() == "tag:yaml.org,2002:str";
      break;
    case YAML::NodeType::Sequence:
      node.kind = Kind::Sequence;
      for (const auto& item : yaml) node.items.push_back(fromYaml(item, source, budget));
      break;
    case YAML::NodeType::Map:
      node.kind = Kind::Map;
      for (const auto& kv : yaml) {
        Node value = fromYaml(kv.second, source, budget);
        Origin keyOrigin{source, lineOf(kv.first)};
        if (value.isNull() || value.origin.line == 0) value.origin = keyOrigin;  // an empty value has no mark of its own
        node.mergeEntry(kv.first.Scalar(), std::move(value), keyOrigin);
      }
      break;
  }
  return node;
}

const Entry* Node::entry(std::string_view key) const {
  if (kind != Kind::Map) return nullptr;
  for (const auto& e : entries) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

const Node* Node::get(std::string_view key) const {
  const Entry* e = entry(key);
  return e ? &e->value : nullptr;
}

const Node* Node::find(std::string_view dottedPath) const {
  const Node* current = this;
  for (const auto& part : splitDots(dottedPath)) {
    current = current->get(part);
    if (!current) return nullptr;
  }
  return current;
}

void Node::mergeEntry(std::string_view dottedKey, Node value, Origin keyOrigin) {
  const std::size_t split = dottedKey.find('.');
  const std::string first(dottedKey.substr(0, split));
  if (isSequence() && !first.empty() && first.find_first_not_of("0123456789") == std::string::npos) {
    // A number indexes a list, as in beats: -E auditbeat.modules.0.recursive=true.
    const std::size_t index = std::stoul(first);
    if (index < items.size()) {
      if (split == std::string_view::npos) {
        items[index] = std::move(value);
      } else {
        items[index].mergeEntry(dottedKey.substr(split + 1), std::move(value), keyOrigin);
      }
      return;
    }
    if (index == items.size() && split == std::string_view::npos) {
      items.push_back(std::move(value));
      return;
    }
  }
  if (kind != Kind::Map) {
    *this = map(origin);
  }
  const std::size_t dot = dottedKey.find('.');
  const std::string head(dottedKey.substr(0, dot));
  Entry* existing = nullptr;
  for (auto& e : entries) {
    if (e.key == head) existing = &e;
  }
  if (dot != std::string_view::npos) {
    if (existing && existing->value.isSequence()) {  // a list index may follow
      existing->value.mergeEntry(dottedKey.substr(dot + 1), std::move(value), keyOrigin);
      return;
    }
    if (!existing || !existing->value.isMap()) {
      if (existing) {
        existing->value = map(keyOrigin);
      } else {
        entries.push_back(Entry{head, map(keyOrigin), keyOrigin});
        existing = &entries.back();
      }
    }
    existing->value.mergeEntry(dottedKey.substr(dot + 1), std::move(value), keyOrigin);
    return;
  }
  if (existing && existing->value.isMap() && value.isMap()) {
    for (auto& e : value.entries) existing->value.mergeEntry(e.key, std::move(e.value), e.keyOrigin);
    return;
  }
  if (existing) {
    existing->value = std::move(value);
    existing->keyOrigin = keyOrigin;
    return;
  }
  entries.push_back(Entry{head, std::move(value), keyOrigin});
}

void Node::set(std::string_view dottedPath, Node value) {
  const auto parts = splitDots(dottedPath);
  Node* current = this;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    if (!current->isMap()) *current = map(value.origin);
    Node* next = nullptr;
    for (auto& e : current->entries) {
      if (e.key == parts[i]) next = &e.value;
    }
    if (!next) {
      current->entries.push_back(Entry{parts[i], map(value.origin), value.origin});
      next = &current->entries.back().value;
    }
    current = next;
  }
  if (!current->isMap()) *current = map(value.origin);
  for (auto& e : current->entries) {
    if (e.key == parts.back()) {
      e.value = std::move(value);
      return;
    }
  }
  Origin keyOrigin = value.origin;
  current->entries.push_back(Entry{parts.back(), std::move(value), keyOrigin});
}

YAML::Node Node::toYaml() const {
  switch (kind) {
    case Kind::Null:
      return YAML::Node(YAML::NodeType::Null);
    case Kind::Scalar:
      return YAML::Node(scalar);
    case Kind::Sequence: {
      YAML::Node seq(YAML::NodeType::Sequence);
      for (const auto& item : items) seq.push_back(item.toYaml());
      return seq;
    }
    case Kind::Map: {
      YAML::Node out(YAML::NodeType::Map);
      for (const auto& e : entries) out[e.key] = e.value.toYaml();
      return out;
    }
  }
  return YAML::Node();
}

std::string Node::kindName() const {
  switch (kind) {
    case Kind::Null: return "nothing";
    case Kind::Scalar: return "a value";
    case Kind::Sequence: return "a list";
    case Kind::Map: return "a map";
  }
  return "?";
}

}  // namespace fim::config
