#include "mapper/template_generator.h"

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

namespace fim::mapper {
namespace {

using Writer = rapidjson::PrettyWriter<rapidjson::StringBuffer>;

constexpr int kDefaultIgnoreAbove = 1024;

void key(Writer& w, std::string_view k) { w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size())); }
void str(Writer& w, std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }

// {"type": ..., "ignore_above": ...} for a leaf type (keywords get ignore_above 1024 unless declared).
void leafMapping(Writer& w, FieldType type, int ignoreAbove) {
  key(w, "type");
  str(w, toString(type));
  if (type == FieldType::Keyword) {
    key(w, "ignore_above");
    w.Int(ignoreAbove > 0 ? ignoreAbove : kDefaultIgnoreAbove);
  } else if ((type == FieldType::Wildcard || type == FieldType::Flattened) && ignoreAbove > 0) {
    key(w, "ignore_above");
    w.Int(ignoreAbove);
  } else if (type == FieldType::ScaledFloat) {
    key(w, "scaling_factor");
    w.Int(1000);
  }
}

void properties(Writer& w, const SchemaNode& group) {
  key(w, "properties");
  w.StartObject();
  for (const auto& node : group.children()) {
    key(w, node.name());
    w.StartObject();
    if (node.isGroup()) {
      if (node.type() == FieldType::Nested) {
        key(w, "type");
        str(w, "nested");
      }
      properties(w, node);
    } else {
      const FieldDef* def = node.def();
      leafMapping(w, node.type(), def ? def->ignoreAbove : 0);
      if (def && !def->multiFields.empty()) {
        key(w, "fields");
        w.StartObject();
        for (const auto& mf : def->multiFields) {
          key(w, mf.name);
          w.StartObject();
          leafMapping(w, mf.type, 0);
          w.EndObject();
        }
        w.EndObject();
      }
    }
    w.EndObject();
  }
  w.EndObject();
}

// One dynamic template per `object` field with an object_type: its keys are free, its leaves typed.
void objectTypeTemplates(Writer& w, const SchemaNode& group) {
  for (const auto& node : group.children()) {
    if (node.isGroup()) {
      objectTypeTemplates(w, node);
      continue;
    }
    if (node.type() != FieldType::Object || !node.def() || !node.def()->objectType) continue;
    const FieldType type = *node.def()->objectType;
    w.StartObject();
    key(w, node.path());
    w.StartObject();
    key(w, "path_match");
    str(w, node.path() + ".*");
    if (isStringType(type) || type == FieldType::Date || type == FieldType::Ip) {
      key(w, "match_mapping_type");  // the encoder turns every leaf below into a string
      str(w, "string");
    }
    key(w, "mapping");
    w.StartObject();
    leafMapping(w, type, 0);
    w.EndObject();
    w.EndObject();
    w.EndObject();
  }
}

void mappings(Writer& w, const Schema& schema, const TemplateOptions& options) {
  key(w, "mappings");
  w.StartObject();
  key(w, "_meta");
  w.StartObject();
  key(w, "beat");
  str(w, "fimbeat");
  if (!options.version.empty()) {
    key(w, "version");
    str(w, options.version);
  }
  w.EndObject();
  key(w, "date_detection");
  w.Bool(false);
  key(w, "dynamic_templates");
  w.StartArray();
  objectTypeTemplates(w, schema.root());
  w.StartObject();
  key(w, "strings_as_keyword");
  w.StartObject();
  key(w, "match_mapping_type");
  str(w, "string");
  key(w, "mapping");
  w.StartObject();
  leafMapping(w, FieldType::Keyword, kDefaultIgnoreAbove);
  w.EndObject();
  w.EndObject();
  w.EndObject();
  w.EndArray();
  properties(w, schema.root());
  w.EndObject();
}

}  // namespace

std::string indexTemplateJson(const Schema& schema, const TemplateOptions& options) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.SetIndent(' ', 2);
  w.StartObject();
  key(w, "index_patterns");
  w.StartArray();
  str(w, options.indexPattern);
  w.EndArray();
  key(w, "data_stream");
  w.StartObject();
  w.EndObject();
  key(w, "priority");
  w.Int(options.priority);
  key(w, "_meta");
  w.StartObject();
  key(w, "description");
  str(w, "fimbeat file integrity events (generated from fields.yml)");
  key(w, "managed_by");
  str(w, "fimbeat");
  if (!options.version.empty()) {
    key(w, "version");
    str(w, options.version);
  }
  w.EndObject();
  key(w, "template");
  w.StartObject();
  key(w, "settings");
  w.StartObject();
  key(w, "index");
  w.StartObject();
  if (!options.ilmPolicy.empty()) {
    key(w, "lifecycle");
    w.StartObject();
    key(w, "name");
    str(w, options.ilmPolicy);
    w.EndObject();
  }
  key(w, "mapping");
  w.StartObject();
  key(w, "total_fields");
  w.StartObject();
  key(w, "limit");
  w.Int(10000);
  w.EndObject();
  w.EndObject();
  w.EndObject();
  w.EndObject();
  if (options.ilmPolicy.empty()) {
    key(w, "lifecycle");
    w.StartObject();
    key(w, "enabled");
    w.Bool(true);
    if (!options.dataRetention.empty()) {
      key(w, "data_retention");
      str(w, options.dataRetention);
    }
    w.EndObject();
  }
  mappings(w, schema, options);
  w.EndObject();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string ilmPolicyJson() {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.SetIndent(' ', 2);
  w.StartObject();
  key(w, "policy");
  w.StartObject();
  key(w, "_meta");
  w.StartObject();
  key(w, "managed_by");
  str(w, "fimbeat");
  w.EndObject();
  key(w, "phases");
  w.StartObject();
  key(w, "hot");
  w.StartObject();
  key(w, "min_age");
  str(w, "0ms");
  key(w, "actions");
  w.StartObject();
  key(w, "rollover");
  w.StartObject();
  key(w, "max_primary_shard_size");
  str(w, "50gb");
  key(w, "max_age");
  str(w, "30d");
  w.EndObject();
  w.EndObject();
  w.EndObject();
  w.EndObject();
  w.EndObject();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace fim::mapper
