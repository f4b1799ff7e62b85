#include "mapper/processors/node_json.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>

namespace fim::mapper::processors {

using Value = rapidjson::Value;
using Allocator = rapidjson::Document::AllocatorType;

namespace {

// A YAML scalar as JSON: quoted text stays a string; plain text that spells an integer, a
// finite number or a boolean becomes one (YAML typing, as Beats reads its config).
rapidjson::Value scalarToJson(const config::Node& node, Allocator& allocator) {
  const std::string& text = node.scalar;
  const auto asString = [&] { return Value(text.data(), static_cast<rapidjson::SizeType>(text.size()), allocator); };
  if (node.quoted || text.empty()) return asString();
  const char* begin = text.data();
  const char* end = begin + text.size();
  std::int64_t integer = 0;
  if (auto [at, ec] = std::from_chars(begin, end, integer); ec == std::errc() && at == end) return Value(integer);
  std::uint64_t unsignedInteger = 0;
  if (auto [at, ec] = std::from_chars(begin, end, unsignedInteger); ec == std::errc() && at == end) {
    return Value(unsignedInteger);
  }
  double number = 0;
  if (auto [at, ec] = std::from_chars(begin, end, number); ec == std::errc() && at == end && std::isfinite(number)) {
    return Value(number);
  }
  if (text == "true" || text == "True" || text == "TRUE") return Value(true);
  if (text == "false" || text == "False" || text == "FALSE") return Value(false);
  return asString();
}

}  // namespace

rapidjson::Value nodeToJson(const config::Node& node, Allocator& allocator) {
  switch (node.kind) {
    case config::Node::Kind::Null: return Value(rapidjson::kNullType);
    case config::Node::Kind::Scalar: return scalarToJson(node, allocator);
    case config::Node::Kind::Sequence: {
      Value array(rapidjson::kArrayType);
      for (const auto& item : node.items) array.PushBack(nodeToJson(item, allocator), allocator);
      return array;
    }
    case config::Node::Kind::Map: {
      Value object(rapidjson::kObjectType);
      for (const auto& e : node.entries) {
        object.AddMember(Value(e.key.data(), static_cast<rapidjson::SizeType>(e.key.size()), allocator),
                         nodeToJson(e.value, allocator), allocator);
      }
      return object;
    }
  }
  return Value();
}

}  // namespace fim::mapper::processors
