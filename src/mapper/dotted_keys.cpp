#include "mapper/dotted_keys.h"

#include <cstring>
#include <string_view>

namespace fim::mapper {
namespace {

using Value = rapidjson::Value;
using Allocator = rapidjson::Document::AllocatorType;

bool expandable(std::string_view key) {
  if (key.find('.') == std::string_view::npos) return false;
  return key.front() != '.' && key.back() != '.' && key.find("..") == std::string_view::npos;
}

Value::MemberIterator findMember(Value& object, std::string_view name) {
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    if (it->name.GetStringLength() == name.size() && std::memcmp(it->name.GetString(), name.data(), name.size()) == 0) {
      return it;
    }
  }
  return object.MemberEnd();
}

// Puts `value` at the dotted `path` below `object`, creating or replacing objects on the way.
void place(Value& object, std::string_view path, Value& value, Allocator& a) {
  const auto dot = path.find('.');
  const std::string_view head = path.substr(0, dot);
  auto it = findMember(object, head);
  if (dot == std::string_view::npos) {
    if (it != object.MemberEnd() && it->value.IsObject() && value.IsObject()) {
      for (auto& m : value.GetObject()) {
        Value key(m.name, a);  // merge member by member, so {"a":{"x":1}} and "a"={"y":2} combine
        place(it->value, std::string_view(key.GetString(), key.GetStringLength()), m.value, a);
      }
      return;
    }
    if (it != object.MemberEnd()) {
      it->value = value;
      return;
    }
    Value key(head.data(), static_cast<rapidjson::SizeType>(head.size()), a);
    object.AddMember(key, value, a);
    return;
  }
  if (it == object.MemberEnd()) {
    Value key(head.data(), static_cast<rapidjson::SizeType>(head.size()), a);
    Value child(rapidjson::kObjectType);
    object.AddMember(key, child, a);
    it = object.MemberEnd() - 1;
  } else if (!it->value.IsObject()) {
    it->value.SetObject();
  }
  place(it->value, path.substr(dot + 1), value, a);
}

}  // namespace

bool expandDottedKeys(Value& object, Allocator& a) {
  if (object.IsArray()) {
    bool changed = false;
    for (auto& item : object.GetArray()) changed |= expandDottedKeys(item, a);
    return changed;
  }
  if (!object.IsObject()) return false;
  bool changed = false;
  for (auto it = object.MemberBegin(); it != object.MemberEnd();) {
    const std::string_view key(it->name.GetString(), it->name.GetStringLength());
    if (!expandable(key)) {
      changed |= expandDottedKeys(it->value, a);
      ++it;
      continue;
    }
    Value value(std::move(it->value));
    Value name(std::move(it->name));  // keeps the key text alive while it is erased
    it = object.EraseMember(it);      // keeps member order; the moved-out slot is gone
    expandDottedKeys(value, a);
    place(object, std::string_view(name.GetString(), name.GetStringLength()), value, a);
    changed = true;
    // `it` may be stale if place() appended and reallocated the members; restart the scan.
    it = object.MemberBegin();
  }
  return changed;
}

}  // namespace fim::mapper
