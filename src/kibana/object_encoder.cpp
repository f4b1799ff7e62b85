#include "kibana/object_encoder.h"

#include <array>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <simdjson.h>

namespace fim::kibana {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// Kibana's saved object types keep these attributes as strings of JSON (dashboard, search,
// visualization, map and index-pattern mappings: `type: 'text'` holding serialised state).
constexpr std::array kJsonStringAttributes{
    "attributes.kibanaSavedObjectMeta.searchSourceJSON",
    "attributes.panelsJSON",
    "attributes.optionsJSON",
    "attributes.uiStateJSON",
    "attributes.visState",
    "attributes.mapStateJSON",
    "attributes.layerListJSON",
    "attributes.controlGroupInput.panelsJSON",
    "attributes.controlGroupInput.ignoreParentSettingsJSON",
    "attributes.fields",
    "attributes.fieldAttrs",
    "attributes.fieldFormatMap",
    "attributes.sourceFilters",
    "attributes.typeMeta",
    "attributes.runtimeFieldMap",
};

class Encoder {
 public:
  Encoder(const ObjectFile& object, const EncodeOptions& options) : object_(object), options_(options) {}

  void write(simdjson::dom::element element, const std::string& path, Writer& out) {
    using T = simdjson::dom::element_type;
    switch (element.type()) {
      case T::OBJECT: return writeObject(element.get_object().value_unsafe(), path, out);
      case T::ARRAY: {
        const simdjson::dom::array array = element.get_array().value_unsafe();  // kept alive for the loop
        out.StartArray();
        for (auto item : array) write(item, path, out);
        out.EndArray();
        return;
      }
      case T::STRING: {
        std::string_view s = element.get_string().value_unsafe();
        out.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
        return;
      }
      case T::INT64: out.Int64(element.get_int64().value_unsafe()); return;
      case T::UINT64: out.Uint64(element.get_uint64().value_unsafe()); return;
      case T::DOUBLE: out.Double(element.get_double().value_unsafe()); return;
      case T::BOOL: out.Bool(element.get_bool().value_unsafe()); return;
      case T::NULL_VALUE: out.Null(); return;
    }
  }

 private:
  void writeObject(simdjson::dom::object object, const std::string& path, Writer& out) {
    out.StartObject();
    for (auto field : object) {
      out.Key(field.key.data(), static_cast<rapidjson::SizeType>(field.key.size()));
      const std::string child = path.empty() ? std::string(field.key) : path + "." + std::string(field.key);
      if (object_.type == "index-pattern" && child == "attributes.title" && !options_.dataViewTitle.empty()) {
        out.String(options_.dataViewTitle.c_str());
      } else if (storedAsJsonString(child) && (field.value.is_object() || field.value.is_array())) {
        rapidjson::StringBuffer inner;
        Writer innerWriter(inner);
        write(field.value, "", innerWriter);
        out.String(inner.GetString(), static_cast<rapidjson::SizeType>(inner.GetSize()));
      } else {
        write(field.value, child, out);
      }
    }
    out.EndObject();
  }

  const ObjectFile& object_;
  const EncodeOptions& options_;
};

}  // namespace

bool storedAsJsonString(std::string_view path) {
  for (std::string_view candidate : kJsonStringAttributes) {
    if (candidate == path) return true;
  }
  return false;
}

core::Result<std::string> encodeObject(const ObjectFile& object, const EncodeOptions& options) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto error = parser.parse(object.text).get(root)) {
    return core::failf(core::ErrorCode::Parse, "{}: not valid JSON: {}", object.path, simdjson::error_message(error));
  }
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  Encoder(object, options).write(root, "", writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace fim::kibana
