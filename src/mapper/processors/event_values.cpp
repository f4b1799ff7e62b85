#include "mapper/processors/event_values.h"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

namespace fim::mapper::processors {

using rapidjson::Value;

std::string_view textOf(const Value& string) { return {string.GetString(), string.GetStringLength()}; }

Value stringValue(std::string_view text, Allocator& allocator) {
  return Value(text.data(), static_cast<rapidjson::SizeType>(text.size()), allocator);
}

std::string goFormat(const Value& value) {
  if (value.IsString()) return std::string(textOf(value));
  if (value.IsBool()) return value.GetBool() ? "true" : "false";
  if (value.IsInt64()) return std::to_string(value.GetInt64());
  if (value.IsUint64()) return std::to_string(value.GetUint64());
  if (value.IsDouble()) return fmt::format("{}", value.GetDouble());
  if (value.IsNull()) return "<nil>";
  if (value.IsArray()) {
    std::string out = "[";
    for (const auto& item : value.GetArray()) {
      if (out.size() > 1) out += ' ';
      out += goFormat(item);
    }
    out += ']';
    return out;
  }
  std::vector<std::pair<std::string_view, const Value*>> members;
  for (const auto& m : value.GetObject()) members.emplace_back(textOf(m.name), &m.value);
  std::sort(members.begin(), members.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out = "map[";
  for (std::size_t i = 0; i < members.size(); ++i) {
    out += fmt::format("{}{}:{}", i ? " " : "", members[i].first, goFormat(*members[i].second));
  }
  return out + "]";
}

std::string goTypeName(const Value& value) {
  if (value.IsString()) return "string";
  if (value.IsBool()) return "bool";
  if (value.IsInt64() || value.IsUint64()) return "int64";
  if (value.IsDouble()) return "float64";
  if (value.IsNull()) return "<nil>";
  if (value.IsArray()) return "[]interface {}";
  return "mapstr.M";
}

bool setField(Value& root, const FieldPath& path, Value& value, Allocator& allocator) {
  if (!canPutField(root, path)) return false;
  if (Value* existing = findField(root, path)) {
    *existing = value;  // replaced where it is (rapidjson assignment moves)
    return true;
  }
  return putField(root, path, value, allocator);
}

bool appendToList(Value& root, const FieldPath& path, std::string_view item, Allocator& allocator) {
  Value* existing = findField(root, path);
  if (!existing) {
    Value list(rapidjson::kArrayType);
    list.PushBack(stringValue(item, allocator), allocator);
    return putField(root, path, list, allocator);
  }
  if (existing->IsString()) {
    Value first(std::move(*existing));
    existing->SetArray();
    existing->PushBack(first, allocator);
  }
  if (!existing->IsArray()) return false;
  existing->PushBack(stringValue(item, allocator), allocator);
  return true;
}

void setErrorMessage(rapidjson::Document& document, std::string_view message) {
  static const FieldPath kErrorMessage("error.message");
  Value text = stringValue(message, document.GetAllocator());
  setField(document, kErrorMessage, text, document.GetAllocator());
}

}  // namespace fim::mapper::processors
