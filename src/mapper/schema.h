#pragma once
// Schema: the fields fimbeat can emit, parsed from a Beats-format fields.yml, with a compiled
// tree for looking fields up one key at a time (as an encoder walks a document) or by dotted name.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace fim::mapper {

// Elasticsearch field types fields.yml may use, plus Group (a namespace of fields).
enum class FieldType {
  Group,
  Nested,  // an array of objects, each indexed as a document of its own; its fields are declared inside it
  Keyword, ConstantKeyword, Wildcard, Text, MatchOnlyText,  // strings
  Date, Ip,                                                 // strings with a format
  Long, Integer, Short, Byte, UnsignedLong,                 // integers
  Double, Float, HalfFloat, ScaledFloat,                    // floating point
  Boolean,
  Object,     // free-form keys; leaves take object_type when it is set
  Flattened,  // any JSON subtree, indexed as keywords
  GeoPoint,   // "lat,lon" or {lat, lon}: kept as written (Elasticsearch validates it)
};

const char* toString(FieldType type);  // the fields.yml / Elasticsearch name: "match_only_text"
std::optional<FieldType> parseFieldType(std::string_view name);
bool isStringType(FieldType type);  // keyword, constant_keyword, wildcard, text, match_only_text
bool isIntegerType(FieldType type);
bool isFloatType(FieldType type);

struct MultiField {
  std::string name;  // "text": indexed as <field>.text
  FieldType type = FieldType::MatchOnlyText;
};

// One entry of fields.yml as written (a group keeps its members in `fields`).
struct FieldDef {
  std::string name;  // as written; may be dotted ("instance.id")
  std::string path;  // full dotted name: "cloud.instance.id"
  FieldType type = FieldType::Keyword;
  std::string level;  // core, extended, custom
  std::string description;
  std::string example;
  int ignoreAbove = 0;  // 0: not set
  bool required = false;
  std::optional<bool> defaultField;
  std::optional<FieldType> objectType;  // for Object
  std::vector<MultiField> multiFields;
  std::vector<FieldDef> fields;  // for Group and Nested
  int line = 0;                  // 1-based line in the fields.yml text
};

// A top-level entry of fields.yml: key, title, description and its fields.
struct FieldSet {
  std::string key;
  std::string title;
  std::string description;
  std::vector<FieldDef> fields;
};

// A node of the compiled tree: groups merged across entries, dotted names split into groups.
class SchemaNode {
 public:
  const std::string& name() const { return name_; }  // one segment: "id"
  const std::string& path() const { return path_; }  // "cloud.instance.id"; "" for the root
  FieldType type() const { return type_; }
  bool isGroup() const { return type_ == FieldType::Group || type_ == FieldType::Nested; }  // holds fields
  const FieldDef* def() const { return def_; }  // null for groups implied by dotted names or the root
  const std::vector<SchemaNode>& children() const { return children_; }  // sorted by name
  const SchemaNode* child(std::string_view name) const;  // one hash probe, usually one compare

 private:
  friend struct SchemaBuilder;
  std::string name_;
  std::string path_;
  FieldType type_ = FieldType::Group;
  const FieldDef* def_ = nullptr;
  std::vector<SchemaNode> children_;
  std::vector<std::uint16_t> slots_;  // open addressing by hash of the name: child index + 1, 0 = empty
};

class Schema {
 public:
  // Parses fields.yml text; `source` names it in errors ("fields.yml:12: ..."). Errors name the line.
  [[nodiscard]] static core::Result<Schema> parse(std::string_view yaml, std::string_view source = "fields.yml");

  Schema(Schema&&) = default;
  Schema& operator=(Schema&&) = default;
  Schema(const Schema&) = delete;
  Schema& operator=(const Schema&) = delete;

  const std::vector<FieldSet>& sets() const { return *sets_; }
  const SchemaNode& root() const { return *root_; }
  const SchemaNode* find(std::string_view dottedName) const;  // a group or a field; null if undeclared

  // Every declared field that is not a group, depth first in name order.
  std::vector<const SchemaNode*> leaves() const;

 private:
  friend struct SchemaBuilder;
  Schema() = default;
  std::unique_ptr<std::vector<FieldSet>> sets_;  // stable addresses: nodes point into it
  std::unique_ptr<SchemaNode> root_;
};

// fields/fields.yml as embedded into the binary at build time, parsed on first use (aborts with
// the parse error if the embedded text is broken: a build defect the unit tests catch).
const Schema& builtinSchema();
std::string_view builtinFieldsYaml();

}  // namespace fim::mapper
