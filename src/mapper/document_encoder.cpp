#include "mapper/document_encoder.h"

#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/logging.h"
#include "core/utf8.h"

namespace fim::mapper {
namespace {

// The type leaves below `node` are coerced to; Flattened means "kept as they are".
FieldType leafTypeOf(const SchemaNode& node) {
  if (node.type() == FieldType::Object) {
    return node.def() && node.def()->objectType ? *node.def()->objectType : FieldType::Flattened;
  }
  if (node.type() == FieldType::GeoPoint) return FieldType::Flattened;
  return node.type();
}

bool isFreeForm(const SchemaNode& node) {
  return node.type() == FieldType::Object || node.type() == FieldType::Flattened || node.type() == FieldType::GeoPoint;
}

constexpr std::size_t kMaxWarnedNames = 10000;  // bounds the memory a stream of odd names can take

std::string_view textOf(const rapidjson::Value& v) { return {v.GetString(), v.GetStringLength()}; }

}  // namespace

DocumentEncoder::DocumentEncoder(const Schema& schema, core::Metrics& metrics)
    : schema_(schema),
      undeclared_(metrics.counter("mapper.fields.undeclared")),
      dropped_(metrics.counter("mapper.fields.dropped")),
      invalid_(metrics.counter("mapper.fields.invalid")) {}

bool DocumentEncoder::encode(const rapidjson::Value& document, bool keepNull, rapidjson::StringBuffer& out) {
  if (!document.IsObject()) return false;
  out.Clear();
  writer_.Reset(out);
  keepNull_ = keepNull;
  pending_.clear();
  opened_ = 0;
  const SchemaNode& root = schema_.root();
  writer_.StartObject();
  const auto timestamp = document.FindMember("@timestamp");
  if (timestamp != document.MemberEnd()) member(*timestamp, root);
  for (auto it = document.MemberBegin(); it != document.MemberEnd(); ++it) {
    if (it != timestamp) member(*it, root);
  }
  writer_.EndObject();
  return true;
}

void DocumentEncoder::member(const rapidjson::Value::Member& m, const SchemaNode& group) {
  const std::string_view key = textOf(m.name);
  const SchemaNode* child = group.child(key);
  if (!child) return undeclared(m, group);
  value(m.value, *child, leafTypeOf(*child), child->name(), Key::Plain);  // schema names are valid UTF-8
}

void DocumentEncoder::value(const rapidjson::Value& v, const SchemaNode& node, FieldType leafType, std::string_view key,
                            Key hasKey) {
  if (leafType == FieldType::Flattened) return freeForm(v, key, hasKey);  // its whole subtree, as it is
  if (v.IsObject()) {
    if (!node.isGroup() && !isFreeForm(node)) return invalid(node);  // an object where a value belongs
    open(key, hasKey, false);
    for (const auto& m : v.GetObject()) {
      if (node.isGroup()) member(m, node);
      else value(m.value, node, leafType, textOf(m.name), Key::Text);
    }
    return close();
  }
  if (v.IsArray()) {
    open(key, hasKey, true);
    for (const auto& item : v.GetArray()) value(item, node, leafType, {}, Key::None);
    return close();
  }
  if (v.IsNull()) {
    if (!keepNull_) return;
    keyOf(key, hasKey);
    writer_.Null();
    return;
  }
  if (node.isGroup()) return invalid(node);  // a value where an object of fields belongs
  coerce(v, leafType, scratch_);
  using Kind = Coerced::Kind;
  if (scratch_.kind == Kind::Invalid) return invalid(node);
  keyOf(key, hasKey);
  switch (scratch_.kind) {
    case Kind::String: string(scratch_.string, false); break;
    case Kind::Int: writer_.Int64(scratch_.i); break;
    case Kind::Uint: writer_.Uint64(scratch_.u); break;
    case Kind::Double: writer_.Double(scratch_.d); break;
    case Kind::Bool: writer_.Bool(scratch_.b); break;
    case Kind::Null: writer_.Null(); break;
    case Kind::Invalid: break;
  }
}

void DocumentEncoder::scalar(const rapidjson::Value& v, std::string_view key, Key hasKey) {
  keyOf(key, hasKey);
  if (v.IsString()) string(textOf(v), false);
  else if (v.IsBool()) writer_.Bool(v.GetBool());
  else if (v.IsInt64()) writer_.Int64(v.GetInt64());
  else if (v.IsUint64()) writer_.Uint64(v.GetUint64());
  else if (std::isfinite(v.GetDouble())) writer_.Double(v.GetDouble());
  else writer_.Null();  // NaN/infinity: JSON has no such number
}

void DocumentEncoder::open(std::string_view key, Key hasKey, bool isArray) {
  pending_.push_back(Pending{key, hasKey, isArray});
}

void DocumentEncoder::close() {
  if (opened_ == pending_.size()) {
    if (pending_.back().isArray) writer_.EndArray();
    else writer_.EndObject();
    --opened_;
  }
  pending_.pop_back();
}

void DocumentEncoder::flush() {
  for (; opened_ < pending_.size(); ++opened_) {
    const Pending& p = pending_[opened_];
    writeKey(p.key, p.hasKey);
    if (p.isArray) writer_.StartArray();
    else writer_.StartObject();
  }
}

void DocumentEncoder::keyOf(std::string_view key, Key hasKey) {
  flush();
  writeKey(key, hasKey);
}

void DocumentEncoder::writeKey(std::string_view key, Key kind) {
  if (kind == Key::Plain) writer_.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  else if (kind == Key::Text) string(key, true);
}

void DocumentEncoder::string(std::string_view s, bool isKey) {
  if (!core::isValidUtf8(s)) {
    repaired_ = core::toValidUtf8(s);
    s = repaired_;
  }
  const auto size = static_cast<rapidjson::SizeType>(s.size());
  if (isKey) writer_.Key(s.data(), size);
  else writer_.String(s.data(), size);
}

// A field a processor added under a name fields.yml does not declare: sent as it is, for
// Elasticsearch's dynamic mapping (the template maps strings as keyword), as Beats sends it.
// A name Elasticsearch would refuse (empty, an empty segment, a root name starting with "_")
// would get the whole document rejected: that field alone is dropped.
void DocumentEncoder::undeclared(const rapidjson::Value::Member& m, const SchemaNode& parent) {
  const std::string_view key = textOf(m.name);
  name_.assign(parent.path());  // a reused buffer: a field a processor adds to every event costs no allocation
  if (!name_.empty()) name_.push_back('.');
  name_.append(key);
  const bool refused = key.empty() || key.front() == '.' || key.back() == '.' ||
                       key.find("..") != std::string_view::npos || (parent.path().empty() && key.front() == '_');
  if (refused) {
    dropped_.add();
    if (warnedUndeclared_.size() < kMaxWarnedNames && warnedUndeclared_.insert(name_).second) {
      core::logger("mapper").warn("dropping field '{}': Elasticsearch refuses that name (further occurrences are "
                                  "only counted in mapper.fields.dropped)",
                                  core::toValidUtf8(name_));
    }
    return;
  }
  undeclared_.add();
  if (warnedUndeclared_.size() < kMaxWarnedNames && warnedUndeclared_.insert(name_).second) {
    core::logger("mapper").info("field '{}' is not declared in fields.yml: sent as it is, for Elasticsearch to map "
                                "dynamically (further occurrences are only counted in mapper.fields.undeclared)",
                                core::toValidUtf8(name_));
  }
  freeForm(m.value, key, Key::Text);
}

// A value below no declared field, or below a `flattened` one: objects, arrays and scalars
// written as they are (nulls only with keep_null).
void DocumentEncoder::freeForm(const rapidjson::Value& v, std::string_view key, Key hasKey) {
  if (v.IsObject()) {
    open(key, hasKey, false);
    for (const auto& m : v.GetObject()) freeForm(m.value, textOf(m.name), Key::Text);
    return close();
  }
  if (v.IsArray()) {
    open(key, hasKey, true);
    for (const auto& item : v.GetArray()) freeForm(item, {}, Key::None);
    return close();
  }
  if (v.IsNull()) {
    if (!keepNull_) return;
    keyOf(key, hasKey);
    writer_.Null();
    return;
  }
  scalar(v, key, hasKey);
}

void DocumentEncoder::invalid(const SchemaNode& node) {
  invalid_.add();
  if (warnedInvalid_.size() < kMaxWarnedNames && warnedInvalid_.insert(node.path()).second) {
    core::logger("mapper").warn("dropping a value of field '{}': it cannot be converted to type {} (further occurrences are only "
                                "counted in mapper.fields.invalid)",
                                node.path(), toString(node.type() == FieldType::Object && node.def() && node.def()->objectType
                                                          ? *node.def()->objectType
                                                          : node.type()));
  }
}

}  // namespace fim::mapper
