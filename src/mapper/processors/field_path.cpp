#include "mapper/processors/field_path.h"

namespace fim::mapper::processors {
namespace {

rapidjson::Value::StringRefType keyOf(const std::string& part) {
  return rapidjson::StringRef(part.data(), part.size());
}

// The object holding the last part of `path`, or null.
rapidjson::Value* parentOf(rapidjson::Value& root, const FieldPath& path) {
  rapidjson::Value* current = &root;
  const auto& parts = path.parts();
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    if (!current->IsObject()) return nullptr;
    auto member = current->FindMember(keyOf(parts[i]));
    if (member == current->MemberEnd()) return nullptr;
    current = &member->value;
  }
  return current->IsObject() ? current : nullptr;
}

bool eraseAt(rapidjson::Value& object, const std::vector<std::string>& parts, std::size_t index, bool cleanup) {
  auto member = object.FindMember(keyOf(parts[index]));
  if (member == object.MemberEnd()) return false;
  if (index + 1 == parts.size()) {
    object.EraseMember(member);
    return true;
  }
  rapidjson::Value& child = member->value;
  if (!child.IsObject() || !eraseAt(child, parts, index + 1, cleanup)) return false;
  if (cleanup && child.ObjectEmpty()) object.EraseMember(member);
  return true;
}

}  // namespace

FieldPath::FieldPath(std::string_view dotted) : text_(dotted) {
  std::size_t start = 0;
  while (start <= dotted.size() && !dotted.empty()) {
    const std::size_t dot = dotted.find('.', start);
    const std::size_t end = dot == std::string_view::npos ? dotted.size() : dot;
    parts_.emplace_back(dotted.substr(start, end - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
}

const rapidjson::Value* findField(const rapidjson::Value& root, const FieldPath& path) {
  const rapidjson::Value* current = &root;
  for (const auto& part : path.parts()) {
    if (!current->IsObject()) return nullptr;
    auto member = current->FindMember(keyOf(part));
    if (member == current->MemberEnd()) return nullptr;
    current = &member->value;
  }
  return path.empty() ? nullptr : current;
}

rapidjson::Value* findField(rapidjson::Value& root, const FieldPath& path) {
  return const_cast<rapidjson::Value*>(findField(static_cast<const rapidjson::Value&>(root), path));
}

bool eraseField(rapidjson::Value& root, const FieldPath& path, bool cleanup) {
  if (path.empty() || !root.IsObject()) return false;
  return eraseAt(root, path.parts(), 0, cleanup);
}

bool takeField(rapidjson::Value& root, const FieldPath& path, rapidjson::Value& out) {
  if (path.empty()) return false;
  rapidjson::Value* parent = parentOf(root, path);
  if (!parent) return false;
  auto member = parent->FindMember(keyOf(path.parts().back()));
  if (member == parent->MemberEnd()) return false;
  out = std::move(member->value);  // rapidjson assignment moves
  parent->EraseMember(member);
  return true;
}

bool canPutField(const rapidjson::Value& root, const FieldPath& path) {
  if (path.empty() || !root.IsObject()) return false;
  const rapidjson::Value* current = &root;
  const auto& parts = path.parts();
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    auto member = current->FindMember(keyOf(parts[i]));
    if (member == current->MemberEnd()) return true;
    if (!member->value.IsObject()) return false;
    current = &member->value;
  }
  return true;
}

bool putField(rapidjson::Value& root, const FieldPath& path, rapidjson::Value& value, Allocator& allocator) {
  if (!canPutField(root, path)) return false;  // checked first so that a failure changes nothing
  const auto& parts = path.parts();
  rapidjson::Value* current = &root;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    auto member = current->FindMember(keyOf(parts[i]));
    if (member == current->MemberEnd()) {
      current->AddMember(rapidjson::Value(parts[i].data(), static_cast<rapidjson::SizeType>(parts[i].size()), allocator),
                         rapidjson::Value(rapidjson::kObjectType), allocator);
      current = &(current->MemberEnd() - 1)->value;
    } else {
      current = &member->value;
    }
  }
  auto last = current->FindMember(keyOf(parts.back()));
  if (last == current->MemberEnd()) {
    current->AddMember(
        rapidjson::Value(parts.back().data(), static_cast<rapidjson::SizeType>(parts.back().size()), allocator), value,
        allocator);
  } else if (last->value.IsObject() && value.IsObject()) {
    for (auto& m : value.GetObject()) {
      auto existing = last->value.FindMember(m.name);
      if (existing == last->value.MemberEnd()) {
        last->value.AddMember(m.name, m.value, allocator);
      } else {
        existing->value = m.value;
      }
    }
  } else {
    last->value = value;
  }
  return true;
}

void deepUpdate(rapidjson::Value& target, const rapidjson::Value& patch, Allocator& allocator) {
  for (const auto& m : patch.GetObject()) {
    auto existing = target.FindMember(m.name);
    if (existing == target.MemberEnd()) {
      target.AddMember(rapidjson::Value(m.name, allocator), rapidjson::Value(m.value, allocator), allocator);
    } else if (existing->value.IsObject() && m.value.IsObject()) {
      deepUpdate(existing->value, m.value, allocator);
    } else {
      existing->value.CopyFrom(m.value, allocator);
    }
  }
}

}  // namespace fim::mapper::processors
