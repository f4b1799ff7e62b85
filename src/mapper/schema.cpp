#include "mapper/schema.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <utility>

#include <yaml-cpp/yaml.h>

namespace fim::mapper {
namespace {

struct TypeName {
  FieldType type;
  const char* name;
};

constexpr std::array kTypeNames{
    TypeName{FieldType::Group, "group"},           TypeName{FieldType::Nested, "nested"},
    TypeName{FieldType::Keyword, "keyword"},
    TypeName{FieldType::ConstantKeyword, "constant_keyword"}, TypeName{FieldType::Wildcard, "wildcard"},
    TypeName{FieldType::Text, "text"},             TypeName{FieldType::MatchOnlyText, "match_only_text"},
    TypeName{FieldType::Date, "date"},             TypeName{FieldType::Ip, "ip"},
    TypeName{FieldType::Long, "long"},             TypeName{FieldType::Integer, "integer"},
    TypeName{FieldType::Short, "short"},           TypeName{FieldType::Byte, "byte"},
    TypeName{FieldType::UnsignedLong, "unsigned_long"}, TypeName{FieldType::Double, "double"},
    TypeName{FieldType::Float, "float"},           TypeName{FieldType::HalfFloat, "half_float"},
    TypeName{FieldType::ScaledFloat, "scaled_float"}, TypeName{FieldType::Boolean, "boolean"},
    TypeName{FieldType::Object, "object"},         TypeName{FieldType::Flattened, "flattened"},
    TypeName{FieldType::GeoPoint, "geo_point"},
};

const std::set<std::string> kEntryKeys{"key", "title", "description", "fields", "release", "anchor", "short_config"};
const std::set<std::string> kFieldKeys{"name",     "type",         "description", "level",        "example",
                                       "ignore_above", "multi_fields", "default_field", "object_type", "required",
                                       "fields",   "short",        "format",      "release"};

// A schema error at a YAML node: "fields.yml:12: message".
class Failure {
 public:
  Failure(std::string_view source, const YAML::Node& at, std::string message)
      : text_(fmt::format("{}:{}: {}", source, at.Mark().line + 1, message)) {}
  Failure(std::string_view source, int line, std::string message)
      : text_(fmt::format("{}:{}: {}", source, line, message)) {}
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

class Parser {
 public:
  explicit Parser(std::string_view source) : source_(source) {}

  std::vector<FieldSet> entries(const YAML::Node& top) {
    if (!top.IsSequence()) fail(top, "the top level must be a list of entries (key, title, description, fields)");
    std::vector<FieldSet> sets;
    for (const auto& entry : top) {
      if (!entry.IsMap()) fail(entry, "an entry must be a map with key, title, description and fields");
      checkKeys(entry, kEntryKeys, "entry");
      FieldSet set;
      set.key = scalar(entry, "key", true);
      set.title = scalar(entry, "title", false);
      set.description = scalar(entry, "description", false);
      const YAML::Node fields = entry["fields"];
      if (fields) set.fields = list(fields, "");
      sets.push_back(std::move(set));
    }
    return sets;
  }

 private:
  [[noreturn]] void fail(const YAML::Node& at, std::string message) { throw Failure(source_, at, std::move(message)); }

  void checkKeys(const YAML::Node& map, const std::set<std::string>& known, std::string_view what) {
    for (const auto& kv : map) {
      const auto key = kv.first.Scalar();
      if (!known.contains(key)) fail(kv.first, fmt::format("unknown key '{}' in {}", key, what));
    }
  }

  std::string scalar(const YAML::Node& map, const char* key, bool required) {
    const YAML::Node value = map[key];
    if (!value) {
      if (required) fail(map, fmt::format("missing '{}'", key));
      return "";
    }
    if (!value.IsScalar()) fail(value, fmt::format("'{}' must be a single value", key));
    return value.Scalar();
  }

  FieldType type(const YAML::Node& value, std::string_view what) {
    if (!value.IsScalar()) fail(value, fmt::format("'{}' must be a type name", what));
    const auto parsed = parseFieldType(value.Scalar());
    if (!parsed) fail(value, fmt::format("unknown {} '{}'", what, value.Scalar()));
    return *parsed;
  }

  std::vector<FieldDef> list(const YAML::Node& fields, const std::string& prefix) {
    if (!fields.IsSequence()) fail(fields, "'fields' must be a list");
    std::vector<FieldDef> out;
    for (const auto& f : fields) out.push_back(field(f, prefix));
    return out;
  }

  FieldDef field(const YAML::Node& node, const std::string& prefix) {
    if (!node.IsMap()) fail(node, "a field must be a map with at least a name");
    FieldDef def;
    def.line = node.Mark().line + 1;
    def.name = scalar(node, "name", true);
    const bool plain = std::all_of(def.name.begin(), def.name.end(), [](char c) { return c > 0x20 && c < 0x7f && c != '"' && c != '\\'; });
    if (!plain || def.name.empty() || def.name.front() == '.' || def.name.back() == '.' || def.name.find("..") != std::string::npos) {
      fail(node["name"], fmt::format("invalid field name '{}': printable ASCII without quotes, backslashes or empty segments", def.name));
    }
    def.path = prefix + def.name;
    checkKeys(node, kFieldKeys, fmt::format("field '{}'", def.path));
    if (node["type"]) def.type = type(node["type"], "type");
    def.level = scalar(node, "level", false);
    if (!def.level.empty() && def.level != "core" && def.level != "extended" && def.level != "custom") {
      fail(node["level"], fmt::format("field '{}': level must be core, extended or custom, not '{}'", def.path, def.level));
    }
    def.description = scalar(node, "description", false);
    def.example = scalar(node, "example", false);
    if (const auto v = node["ignore_above"]) {
      int n = 0;
      if (!v.IsScalar() || !YAML::convert<int>::decode(v, n) || n < 0) {
        fail(v, fmt::format("field '{}': ignore_above must be a non-negative integer", def.path));
      }
      def.ignoreAbove = n;
    }
    def.required = boolean(node, "required", def.path).value_or(false);
    def.defaultField = boolean(node, "default_field", def.path);
    if (const auto v = node["object_type"]) {
      if (def.type != FieldType::Object) fail(v, fmt::format("field '{}': object_type needs type: object", def.path));
      def.objectType = type(v, "object_type");
      if (*def.objectType == FieldType::Group || *def.objectType == FieldType::Object) {
        fail(v, fmt::format("field '{}': object_type must be a leaf type", def.path));
      }
    }
    if (const auto v = node["multi_fields"]) multiFields(v, def);
    const YAML::Node children = node["fields"];
    if (def.type == FieldType::Group || def.type == FieldType::Nested) {
      if (!children) fail(node, fmt::format("{} '{}' has no fields", toString(def.type), def.path));
      def.fields = list(children, def.path + ".");
    } else if (children) {
      fail(children, fmt::format("field '{}' has fields but is not of type group or nested", def.path));
    }
    return def;
  }

  std::optional<bool> boolean(const YAML::Node& map, const char* key, const std::string& path) {
    const YAML::Node v = map[key];
    if (!v) return std::nullopt;
    bool b = false;
    if (!v.IsScalar() || !YAML::convert<bool>::decode(v, b)) fail(v, fmt::format("field '{}': {} must be true or false", path, key));
    return b;
  }

  void multiFields(const YAML::Node& list, FieldDef& def) {
    if (!list.IsSequence()) fail(list, fmt::format("field '{}': multi_fields must be a list", def.path));
    for (const auto& m : list) {
      if (!m.IsMap()) fail(m, fmt::format("field '{}': a multi field needs a name and a type", def.path));
      MultiField mf;
      mf.name = scalar(m, "name", true);
      if (!m["type"]) fail(m, fmt::format("field '{}': multi field '{}' has no type", def.path, mf.name));
      mf.type = type(m["type"], "multi field type");
      def.multiFields.push_back(std::move(mf));
    }
  }

  std::string_view source_;
};

// The tree while it is built: children in a map, merged across entries.
struct Draft {
  FieldType type = FieldType::Group;
  const FieldDef* def = nullptr;
  int line = 0;
  std::map<std::string, Draft, std::less<>> children;
};

std::vector<std::string_view> splitDots(std::string_view name) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t dot; (dot = name.find('.', start)) != std::string_view::npos; start = dot + 1) {
    parts.push_back(name.substr(start, dot - start));
  }
  parts.push_back(name.substr(start));
  return parts;
}

void addToDraft(Draft& parent, const FieldDef& def, std::string_view source) {
  const auto parts = splitDots(def.name);
  Draft* at = &parent;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    Draft& next = at->children[std::string(parts[i])];
    if (next.type != FieldType::Group && next.type != FieldType::Nested) {
      throw Failure(source, def.line, fmt::format("'{}' goes through field declared at line {}, which is not a group", def.path, next.line));
    }
    if (next.line == 0) next.line = def.line;
    at = &next;
  }
  const std::string last(parts.back());
  const auto existing = at->children.find(last);
  if (def.type == FieldType::Nested) {  // declared once, with its fields
    if (existing != at->children.end()) {
      throw Failure(source, def.line, fmt::format("'{}' is already declared at line {}", def.path, existing->second.line));
    }
    Draft& nested = at->children[last];
    nested = Draft{FieldType::Nested, &def, def.line, {}};
    for (const auto& child : def.fields) addToDraft(nested, child, source);
    return;
  }
  if (def.type == FieldType::Group) {
    Draft& group = at->children[last];
    if (existing != at->children.end() && group.type != FieldType::Group) {
      throw Failure(source, def.line, fmt::format("group '{}' was declared as a field at line {}", def.path, group.line));
    }
    if (!group.def) group.def = &def;
    if (group.line == 0) group.line = def.line;
    for (const auto& child : def.fields) addToDraft(group, child, source);
    return;
  }
  if (existing != at->children.end()) {
    throw Failure(source, def.line, fmt::format("field '{}' is already declared at line {}", def.path, existing->second.line));
  }
  at->children[last] = Draft{def.type, &def, def.line, {}};
}

}  // namespace

const char* toString(FieldType type) {
  for (const auto& t : kTypeNames) {
    if (t.type == type) return t.name;
  }
  return "unknown";
}

std::optional<FieldType> parseFieldType(std::string_view name) {
  for (const auto& t : kTypeNames) {
    if (name == t.name) return t.type;
  }
  return std::nullopt;
}

bool isStringType(FieldType t) {
  return t == FieldType::Keyword || t == FieldType::ConstantKeyword || t == FieldType::Wildcard || t == FieldType::Text ||
         t == FieldType::MatchOnlyText;
}

bool isIntegerType(FieldType t) {
  return t == FieldType::Long || t == FieldType::Integer || t == FieldType::Short || t == FieldType::Byte ||
         t == FieldType::UnsignedLong;
}

bool isFloatType(FieldType t) {
  return t == FieldType::Double || t == FieldType::Float || t == FieldType::HalfFloat || t == FieldType::ScaledFloat;
}

namespace {

// Field names are short: length and three bytes spread them well enough, at no loop's cost.
std::uint32_t nameHash(std::string_view name) {
  if (name.empty()) return 0;
  const auto byte = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(name[i])); };
  return static_cast<std::uint32_t>(name.size()) * 0x9E3779B1u ^ byte(0) * 0x85EBCA6Bu ^ byte(name.size() - 1) * 0xC2B2AE35u ^
         byte(name.size() / 2) * 0x27D4EB2Fu;
}

bool sameName(const std::string& a, std::string_view b) {  // sizes already equal
  const std::size_t n = b.size();
  if (n >= 8 && n <= 16) {  // two overlapping 8-byte loads cover the name
    std::uint64_t x1, y1, x2, y2;
    std::memcpy(&x1, a.data(), 8);
    std::memcpy(&y1, b.data(), 8);
    std::memcpy(&x2, a.data() + n - 8, 8);
    std::memcpy(&y2, b.data() + n - 8, 8);
    return x1 == y1 && x2 == y2;
  }
  if (n < 8) {
    for (std::size_t i = 0; i < n; ++i) {
      if (a[i] != b[i]) return false;
    }
    return true;
  }
  return std::memcmp(a.data(), b.data(), n) == 0;
}

}  // namespace

const SchemaNode* SchemaNode::child(std::string_view name) const {
  if (slots_.empty()) return nullptr;
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = nameHash(name) & mask;; i = (i + 1) & mask) {
    const std::uint16_t slot = slots_[i];
    if (slot == 0) return nullptr;
    const SchemaNode& c = children_[slot - 1u];
    if (c.name_.size() == name.size() && sameName(c.name_, name)) return &c;
  }
}

// Turns the draft into the sorted, immutable tree (a friend of the node types).
struct SchemaBuilder {
  static void compile(const Draft& draft, SchemaNode& node) {
    node.children_.reserve(draft.children.size());
    for (const auto& [name, d] : draft.children) {
      SchemaNode& child = node.children_.emplace_back();
      child.name_ = name;
      child.path_ = node.path_.empty() ? name : node.path_ + "." + name;
      child.type_ = d.type;
      child.def_ = d.def;
      compile(d, child);
    }
    std::size_t size = 4;
    while (size < node.children_.size() * 2) size *= 2;  // at most half full
    node.slots_.assign(size, 0);
    for (std::size_t c = 0; c < node.children_.size(); ++c) {
      std::size_t i = nameHash(node.children_[c].name_) & (size - 1);
      while (node.slots_[i] != 0) i = (i + 1) & (size - 1);
      node.slots_[i] = static_cast<std::uint16_t>(c + 1);
    }
  }
};

namespace {

void collectLeaves(const SchemaNode& node, std::vector<const SchemaNode*>& out) {
  for (const auto& c : node.children()) {
    if (c.isGroup()) collectLeaves(c, out);
    else out.push_back(&c);
  }
}

}  // namespace

core::Result<Schema> Schema::parse(std::string_view yaml, std::string_view source) {
  Schema schema;
  try {
    const YAML::Node top = YAML::Load(std::string(yaml));
    schema.sets_ = std::make_unique<std::vector<FieldSet>>(Parser(source).entries(top));
    Draft root;
    for (const auto& set : *schema.sets_) {
      for (const auto& def : set.fields) addToDraft(root, def, source);
    }
    schema.root_ = std::make_unique<SchemaNode>();
    SchemaBuilder::compile(root, *schema.root_);
  } catch (const Failure& f) {
    return core::fail(core::ErrorCode::Parse, f.text());
  } catch (const YAML::Exception& e) {
    return core::failf(core::ErrorCode::Parse, "{}:{}: {}", source, e.mark.line + 1, e.msg);
  }
  return schema;
}

const SchemaNode* Schema::find(std::string_view dottedName) const {
  const SchemaNode* node = root_.get();
  for (const auto part : splitDots(dottedName)) {
    if (!node->isGroup()) return nullptr;
    node = node->child(part);
    if (!node) return nullptr;
  }
  return node;
}

std::vector<const SchemaNode*> Schema::leaves() const {
  std::vector<const SchemaNode*> out;
  collectLeaves(*root_, out);
  return out;
}

const Schema& builtinSchema() {
  static const Schema schema = [] {
    auto parsed = Schema::parse(builtinFieldsYaml(), "fields/fields.yml (built in)");
    if (!parsed) {
      std::fprintf(stderr, "fimbeat: the built-in field schema is broken: %s\n", parsed.error().message().c_str());
      std::abort();
    }
    return std::move(*parsed);
  }();
  return schema;
}

}  // namespace fim::mapper
