#include "core/dotted_json.h"

#include <map>
#include <optional>
#include <string_view>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace fim::core {
namespace {

constexpr std::string_view kLeafKey = "value";
constexpr std::string_view kFallbackLeafKey = "";  // segments are never empty, so never taken

// One level of the dotted-name tree: a value may sit on a node that also has children.
struct Node {
  std::optional<DottedValue> value;
  std::map<std::string, Node, std::less<>> children;
};

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void writeString(JsonWriter& writer, std::string_view text) {
  writer.String(text.data() != nullptr ? text.data() : "", static_cast<rapidjson::SizeType>(text.size()));
}

void writeValue(JsonWriter& writer, const DottedValue& value) {
  if (const auto* i = std::get_if<std::int64_t>(&value)) writer.Int64(*i);
  else if (const auto* d = std::get_if<double>(&value)) writer.Double(*d);
  else writeString(writer, std::get<std::string>(value));
}

void writeNode(JsonWriter& writer, const Node& node) {
  if (node.children.empty()) {
    writeValue(writer, node.value.value_or(DottedValue{std::int64_t{0}}));
    return;
  }
  writer.StartObject();
  for (const auto& [key, child] : node.children) {
    writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    writeNode(writer, child);
  }
  if (node.value) {
    const std::string_view key = node.children.contains(kLeafKey) ? kFallbackLeafKey : kLeafKey;
    writer.Key(key.data() != nullptr ? key.data() : "", static_cast<rapidjson::SizeType>(key.size()));
    writeValue(writer, *node.value);
  }
  writer.EndObject();
}

}  // namespace

std::string nestDotted(const DottedEntries& entries) {
  Node root;
  for (const auto& [name, value] : entries) {
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
