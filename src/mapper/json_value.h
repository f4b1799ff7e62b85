#pragma once
// Helpers for building documents as rapidjson Values in a memory pool. Strings are referenced,
// not copied, when the text outlives the document (constants, the event being mapped); the
// encoder makes every string valid UTF-8 when it writes the document out.

#include <charconv>
#include <string_view>

#include <rapidjson/document.h>

namespace fim::mapper {

using Value = rapidjson::Value;
using Allocator = rapidjson::Document::AllocatorType;

inline Value refString(std::string_view s) {
  return Value(rapidjson::StringRef(s.data(), static_cast<rapidjson::SizeType>(s.size())));
}

inline Value copyString(std::string_view s, Allocator& a) {
  return Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), a);
}

template <typename Integer>
Value decimalString(Integer n, Allocator& a) {  // ECS keeps ids (inode, uid, ...) as strings
  char buffer[24];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, n).ptr;
  return copyString(std::string_view(buffer, static_cast<std::size_t>(end - buffer)), a);
}

// object[key] = value; `key` must outlive the document (a literal or static name).
inline void add(Value& object, std::string_view key, Value&& value, Allocator& a) {
  object.AddMember(rapidjson::StringRef(key.data(), static_cast<rapidjson::SizeType>(key.size())), value, a);
}

inline void addRef(Value& object, std::string_view key, std::string_view text, Allocator& a) {
  add(object, key, refString(text), a);
}

inline void addRefIfSet(Value& object, std::string_view key, std::string_view text, Allocator& a) {
  if (!text.empty()) addRef(object, key, text, a);
}

// Adds `child` under key unless it has no members.
inline void addIfNotEmpty(Value& object, std::string_view key, Value&& child, Allocator& a) {
  if (child.IsObject() ? child.MemberCount() > 0 : !child.Empty()) add(object, key, std::move(child), a);
}

}  // namespace fim::mapper
