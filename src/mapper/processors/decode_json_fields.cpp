// decode_json_fields: replaces fields holding JSON text by the values they encode, as Beats'
// libbeat/processors/actions/decode_json_fields.go (and jsontransform's WriteJSONKeys for
// `target: ""`).

#include <time.h>

#include <cctype>
#include <optional>
#include <string>
#include <vector>

#include <rapidjson/error/en.h>

#include "core/time_format.h"
#include "mapper/processors/event_values.h"
#include "mapper/processors/transform_processors.h"

namespace fim::mapper::processors {
namespace {

using rapidjson::Value;

constexpr std::string_view kSkipped = "processing skipped";

bool isStructured(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s.size() > 1 && ((s.front() == '[' && s.back() == ']') || (s.front() == '{' && s.back() == '}'));
}

// Numbers as Beats resolve them: an integer that fits int64 stays one, anything else is a double.
void normalizeNumbers(Value& v) {
  if (v.IsUint64() && !v.IsInt64()) {
    v.SetDouble(static_cast<double>(v.GetUint64()));
  } else if (v.IsObject()) {
    for (auto& m : v.GetObject()) normalizeNumbers(m.value);
  } else if (v.IsArray()) {
    for (auto& item : v.GetArray()) normalizeNumbers(item);
  }
}

// One JSON value; "" or the reason it is not.
std::string decodeJson(std::string_view text, Value& out, Allocator& a) {
  const std::string terminated(text);  // rapidjson's StringStream reads up to a NUL
  rapidjson::StringStream stream(terminated.c_str());
  rapidjson::Document parsed(&a);
  parsed.ParseStream<rapidjson::kParseStopWhenDoneFlag | rapidjson::kParseFullPrecisionFlag>(stream);
  if (parsed.HasParseError()) return rapidjson::GetParseError_En(parsed.GetParseError());
  for (std::size_t i = stream.Tell(); i < text.size(); ++i) {
    if (!std::isspace(static_cast<unsigned char>(text[i]))) return "multiple json elements found";
  }
  normalizeNumbers(parsed);
  out = std::move(static_cast<Value&>(parsed));
  return {};
}

// Decodes `text`, then (maxDepth > 1) the strings inside it that look like JSON objects or
// arrays, down to maxDepth levels; arrays only with process_array.
std::string unmarshal(int maxDepth, std::string_view text, Value& out, bool processArray, Allocator& a) {
  if (auto error = decodeJson(text, out, a); !error.empty()) return error;
  if (--maxDepth == 0) return {};
  const auto tryNested = [&](Value& v) {
    if (!v.IsString() || !isStructured(textOf(v))) return;
    Value nested;
    if (unmarshal(maxDepth, textOf(v), nested, processArray, a).empty()) v = std::move(nested);
  };
  if (out.IsObject()) {
    for (auto& m : out.GetObject()) tryNested(m.value);
  } else if (out.IsArray()) {
    if (!processArray) return std::string(kSkipped);
    for (auto& item : out.GetArray()) tryNested(item);
  }
  return {};
}

// {"a.b": 1} → {"a": {"b": 1}}, merging objects; "" or the conflict (jsontransform.expandFields).
std::string expandKeys(Value& object, Allocator& a) {
  for (auto& m : object.GetObject()) {
    if (m.value.IsObject()) {
      if (auto error = expandKeys(m.value, a); !error.empty()) return error;
    }
  }
  for (rapidjson::SizeType i = 0; i < object.MemberCount();) {
    auto member = object.MemberBegin() + i;
    const std::string key(textOf(member->name));
    if (key.find('.') == std::string::npos) {
      ++i;
      continue;
    }
    Value value(std::move(member->value));
    object.EraseMember(member);
    const FieldPath path(key);
    Value* existing = findField(object, path);
    if (existing && !(existing->IsObject() && value.IsObject())) return "cannot expand \"" + key + "\": found conflicting key";
    if (!canPutField(object, path)) return "cannot expand \"" + key + "\": found conflicting key";
    putField(object, path, value, a);  // merges two objects
  }
  return {};
}

// target's values under `into` where `into` has none (mapstr.DeepUpdateNoOverwrite).
void mergeNoOverwrite(Value& into, Value& from, Allocator& a) {
  for (auto& m : from.GetObject()) {
    auto existing = into.FindMember(m.name);
    if (existing == into.MemberEnd()) into.AddMember(Value(m.name, a), m.value, a);
    else if (existing->value.IsObject() && m.value.IsObject()) mergeNoOverwrite(existing->value, m.value, a);
  }
}

// RFC 3339 or "2006-01-02T15:04:05.000Z0700" (jsontransform's formats), as a timestamp.
std::optional<core::TimePoint> parseTimestamp(std::string_view s) {
  struct tm tm {};
  int consumed = 0;
  const std::string text(s);
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                  &tm.tm_sec, &consumed) != 6 || consumed != 19) {
    return std::nullopt;
  }
  std::size_t at = 19;
  std::int64_t nanos = 0;
  if (at < s.size() && s[at] == '.') {
    std::int64_t scale = 100000000;
    std::size_t digits = 0;
    for (++at; at < s.size() && std::isdigit(static_cast<unsigned char>(s[at])); ++at, ++digits) {
      nanos += (s[at] - '0') * scale;
      scale /= 10;
    }
    if (digits == 0) return std::nullopt;
  }
  long offset = 0;
  const std::string_view zone = s.substr(at);
  if (zone != "Z") {
    if (zone.size() != 5 && zone.size() != 6) return std::nullopt;
    if (zone[0] != '+' && zone[0] != '-') return std::nullopt;
    const std::string_view minutes = zone.size() == 6 ? zone.substr(4, 2) : zone.substr(3, 2);
    if (zone.size() == 6 && zone[3] != ':') return std::nullopt;
    for (char c : std::string(zone.substr(1, 2)) + std::string(minutes)) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    }
    offset = ((zone[1] - '0') * 10 + (zone[2] - '0')) * 3600L + ((minutes[0] - '0') * 10 + (minutes[1] - '0')) * 60L;
    if (zone[0] == '-') offset = -offset;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const time_t seconds = ::timegm(&tm) - offset;
  return core::TimePoint(std::chrono::seconds(seconds)) +
         std::chrono::duration_cast<core::TimePoint::duration>(std::chrono::nanoseconds(nanos));
}

class DecodeJsonFields final : public Processor {
 public:
  explicit DecodeJsonFields(const config::DecodeJsonFieldsConfig& config) : config_(config), documentId_(config.documentId) {
    for (const auto& f : config.fields) fields_.emplace_back(f);
    if (config.target && !config.target->empty()) target_.emplace(*config.target);
  }

  Outcome run(rapidjson::Document& document) const override {
    bool failed = false;
    for (std::size_t i = 0; i < fields_.size(); ++i) failed = !decodeOne(document, i) || failed;
    return failed ? Outcome::Failed : Outcome::Keep;
  }

 private:
  // error: {message, type: json, data, field} with add_error_key (event.SetErrorWithOption).
  void setError(rapidjson::Document& document, const std::string& message, std::string_view data = {},
                std::string_view field = {}) const {
    if (!config_.addErrorKey) return;
    auto& a = document.GetAllocator();
    Value error(rapidjson::kObjectType);
    error.AddMember("message", stringValue(message, a), a);
    error.AddMember("type", "json", a);
    if (!data.empty()) error.AddMember("data", stringValue(data, a), a);
    if (!field.empty()) error.AddMember("field", stringValue(field, a), a);
    static const FieldPath kError("error");
    setField(document, kError, error, a);
  }

  bool decodeOne(rapidjson::Document& document, std::size_t index) const {
    auto& a = document.GetAllocator();
    const Value* data = findField(document, fields_[index]);
    if (!data || !data->IsString()) return true;  // absent or not text: nothing to decode
    const std::string text(textOf(*data));
    Value output;
    if (auto error = unmarshal(config_.maxDepth, text, output, config_.processArray, a); !error.empty()) {
      setError(document, "parsing input as JSON: " + error, text, fields_[index].text());
      return false;
    }
    std::optional<std::string> id;
    if (!config_.documentId.empty() && output.IsObject()) {
      if (const Value* v = findField(output, documentId_); v && v->IsString()) {
        id = std::string(textOf(*v));
        eraseField(output, documentId_);
      }
    }
    bool ok = true;
    const bool toRoot = config_.target && config_.target->empty();
    if (!toRoot) {
      if (config_.expandKeys) {
        if (!output.IsObject()) {
          ok = false;
        } else if (auto error = expandKeys(output, a); !error.empty()) {
          setError(document, error);
          ok = false;
        }
      }
      if (!setField(document, target_ ? *target_ : fields_[index], output, a)) return false;
    } else if (!output.IsObject()) {
      return false;  // "failed to add target to root"
    } else {
      writeKeys(document, output);
    }
    if (id) {
      static const FieldPath kId("@metadata._id");
      Value v = stringValue(*id, a);
      setField(document, kId, v, a);
    }
    return ok;
  }

  // jsontransform.WriteJSONKeys: the decoded object's keys at the root of the document.
  void writeKeys(rapidjson::Document& document, Value& keys) const {
    auto& a = document.GetAllocator();
    if (config_.expandKeys) {
      if (auto error = expandKeys(keys, a); !error.empty()) return setError(document, error);
    }
    if (!config_.overwriteKeys) {
      keys.RemoveMember("@timestamp");
      keys.RemoveMember("@metadata");
      return mergeNoOverwrite(document, keys, a);
    }
    if (auto ts = keys.FindMember("@timestamp"); ts != keys.MemberEnd()) {
      if (!ts->value.IsString()) {
        setError(document, "@timestamp not overwritten (not string)");
      } else if (const auto parsed = parseTimestamp(textOf(ts->value))) {
        Value formatted = stringValue(core::formatTimestamp(*parsed), a);
        document.RemoveMember("@timestamp");
        document.AddMember("@timestamp", formatted, a);
      } else {
        setError(document, "@timestamp not overwritten (parse error on " + std::string(textOf(ts->value)) + ")");
      }
      keys.RemoveMember(ts);
    }
    if (auto meta = keys.FindMember("@metadata"); meta != keys.MemberEnd()) {
      if (meta->value.IsObject()) {
        auto existing = document.FindMember("@metadata");
        if (existing == document.MemberEnd()) document.AddMember("@metadata", Value(rapidjson::kObjectType), a);
        deepUpdate(document["@metadata"], meta->value, a);
      } else {
        setError(document, "failed to update @metadata");
      }
      keys.RemoveMember("@metadata");
    }
    if (auto type = keys.FindMember("type"); type != keys.MemberEnd()) {
      if (!type->value.IsString()) {
        setError(document, "type not overwritten (not string)");
      } else if (type->value.GetStringLength() == 0 || type->value.GetString()[0] == '_') {
        setError(document, "type not overwritten (invalid value [" + std::string(textOf(type->value)) + "])");
      } else {
        Value v(type->value, a);
        document.RemoveMember("type");
        document.AddMember("type", v, a);
      }
      keys.RemoveMember("type");
    }
    deepUpdate(document, keys, a);
  }

  config::DecodeJsonFieldsConfig config_;
  std::vector<FieldPath> fields_;
  std::optional<FieldPath> target_;
  FieldPath documentId_;
};

}  // namespace

std::unique_ptr<Processor> makeDecodeJsonFields(const config::DecodeJsonFieldsConfig& config) {
  return std::make_unique<DecodeJsonFields>(config);
}

}  // namespace fim::mapper::processors
