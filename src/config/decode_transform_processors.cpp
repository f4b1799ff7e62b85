// The options of convert, decode_json_fields, dissect, extract_array, rate_limit, add_id and
// script, with Beats' names, defaults and checks (each processor's config.go in libbeat/processors).

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "config/decode.h"

namespace fim::config {
namespace {

bool required(MapReader& reader, std::string_view key, std::string_view example, const Origin& origin) {
  const Node* value = reader.node() ? reader.node()->get(key) : nullptr;
  if (!value || value->isNull() || (value->isSequence() && value->items.empty()) || (value->isMap() && value->entries.empty())) {
    reader.diagnostics().error(value ? value->origin : origin, reader.keyPath(key), fmt::format("is required, for example `{}`", example));
    return false;
  }
  return true;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

const std::vector<std::pair<std::string, ConvertConfig::Type>> kConvertTypes{
    {"integer", ConvertConfig::Type::Integer}, {"long", ConvertConfig::Type::Long},     {"float", ConvertConfig::Type::Float},
    {"double", ConvertConfig::Type::Double},   {"string", ConvertConfig::Type::String}, {"boolean", ConvertConfig::Type::Boolean},
    {"ip", ConvertConfig::Type::Ip}};

void decodeConvert(MapReader& reader, const Origin& origin, ConvertConfig& out) {
  reader.string("tag", out.tag);
  reader.boolean("ignore_missing", out.ignoreMissing);
  reader.boolean("fail_on_error", out.failOnError);
  std::string mode = "copy";
  reader.string("mode", mode);
  if (lower(mode) == "rename") {
    out.renameMode = true;
  } else if (lower(mode) != "copy") {
    reader.diagnostics().error(reader.node()->get("mode")->origin, reader.keyPath("mode"),
                               fmt::format("invalid mode \"{}\": expected copy or rename", mode));
  }
  if (!required(reader, "fields", "fields: [{from: file.size, to: size_text, type: string}]", origin)) {
    reader.take("fields");
    return;
  }
  const Node* fields = reader.take("fields");
  if (!fields->isSequence()) {
    reader.diagnostics().error(fields->origin, reader.keyPath("fields"), "expected a list of `{from, to, type}`, got " + describeValue(*fields));
    return;
  }
  std::vector<std::string> names;
  for (const auto& [name, type] : kConvertTypes) names.push_back(name);
  for (std::size_t i = 0; i < fields->items.size(); ++i) {
    const Node& item = fields->items[i];
    MapReader entry(&item, reader.keyPath("fields") + "." + std::to_string(i), reader.diagnostics());
    ConvertConfig::Field field;
    std::string type;
    entry.string("from", field.from);
    entry.string("to", field.to);
    entry.string("type", type);
    entry.finish();
    if (!item.isMap()) continue;  // reported by the reader
    bool ok = true;
    if (!type.empty()) {
      auto found = std::find_if(kConvertTypes.begin(), kConvertTypes.end(), [&](const auto& t) { return t.first == lower(type); });
      if (found == kConvertTypes.end()) {
        reader.diagnostics().error(item.get("type")->origin, entry.keyPath("type"),
                                   fmt::format("invalid data type \"{}\"; expected one of {}", type, fmt::join(names, ", ")));
        ok = false;
      } else {
        field.type = found->second;
      }
    }
    if (field.from.empty()) {
      reader.diagnostics().error(item.origin, entry.keyPath("from"), "is required");
      ok = false;
    } else if (field.to.empty() && type.empty()) {
      reader.diagnostics().error(item.origin, entry.path(), "each field must have a 'to' or a 'type'");
      ok = false;
    }
    if (ok) out.fields.push_back(std::move(field));
  }
}

void decodeDecodeJsonFields(MapReader& reader, const Origin& origin, DecodeJsonFieldsConfig& out) {
  if (required(reader, "fields", "fields: [message]", origin)) reader.strings("fields", out.fields);
  reader.integer("max_depth", out.maxDepth, 1, 1000);
  reader.boolean("process_array", out.processArray);
  reader.boolean("overwrite_keys", out.overwriteKeys);
  reader.boolean("add_error_key", out.addErrorKey);
  reader.boolean("expand_keys", out.expandKeys);
  reader.string("document_id", out.documentId);
  if (const Node* target = reader.node() ? reader.node()->get("target") : nullptr; target && !target->isNull()) {
    std::string text;
    reader.string("target", text);
    out.target = text;
  } else {
    reader.take("target");  // `target:` with no value is as if it were not set (Beats' docs)
  }
}

void decodeDissect(MapReader& reader, const Origin& origin, DissectConfig& out) {
  if (required(reader, "tokenizer", "tokenizer: \"%{key1} %{key2}\"", origin)) reader.string("tokenizer", out.tokenizer);
  reader.string("field", out.field);
  reader.string("target_prefix", out.targetPrefix);
  reader.boolean("ignore_failure", out.ignoreFailure);
  reader.boolean("overwrite_keys", out.overwriteKeys);
  std::string trim = "none";
  reader.oneOf("trim_values", trim, {"none", "left", "right", "all"});
  out.trimValues = trim == "left"    ? DissectConfig::Trim::Left
                   : trim == "right" ? DissectConfig::Trim::Right
                   : trim == "all"   ? DissectConfig::Trim::All
                                     : DissectConfig::Trim::None;
  reader.string("trim_chars", out.trimChars);
}

// mappings: {source.ip: 0, destination: {ip: 1}} → ("destination.ip", 1), ("source.ip", 0), as
// Beats flatten them; each value a non-negative integer.
void flattenMappings(const Node& node, const std::string& prefix, const std::string& path, Diagnostics& diagnostics,
                     std::vector<std::pair<std::string, std::size_t>>& out) {
  for (const auto& e : node.entries) {
    const std::string name = prefix.empty() ? e.key : prefix + "." + e.key;
    if (e.value.isMap()) {
      flattenMappings(e.value, name, path, diagnostics, out);
      continue;
    }
    std::size_t index = 0;
    const std::string& text = e.value.scalar;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), index);
    if (!e.value.isScalar() || e.value.quoted || ec != std::errc() || end != text.data() + text.size()) {
      diagnostics.error(e.value.origin, path + "." + name,
                        fmt::format("bad extract_array mapping for field {}: {} is not a positive integer", name, describeValue(e.value)));
      continue;
    }
    out.emplace_back(name, index);
  }
}

void decodeExtractArray(MapReader& reader, const Origin& origin, ExtractArrayConfig& out) {
  if (required(reader, "field", "field: my_array", origin)) reader.string("field", out.field);
  reader.boolean("ignore_missing", out.ignoreMissing);
  reader.boolean("overwrite_keys", out.overwriteKeys);
  reader.boolean("fail_on_error", out.failOnError);
  reader.boolean("omit_empty", out.omitEmpty);
  if (!required(reader, "mappings", "mappings: {source.ip: 0, destination.ip: 1}", origin)) {
    reader.take("mappings");
    return;
  }
  const Node* mappings = reader.take("mappings");
  if (!mappings->isMap()) {
    reader.diagnostics().error(mappings->origin, reader.keyPath("mappings"), "expected a map of field names to array indexes, got " + describeValue(*mappings));
    return;
  }
  flattenMappings(*mappings, "", reader.keyPath("mappings"), reader.diagnostics(), out.mappings);
  std::stable_sort(out.mappings.begin(), out.mappings.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
}

// limit: "<number>/<s|m|h>"
void decodeRateLimit(MapReader& reader, const Origin& origin, RateLimitConfig& out) {
  double value = 0;
  double seconds = 1;
  if (required(reader, "limit", "limit: \"10000/m\"", origin)) {
    std::string limit;
    reader.string("limit", limit);
    const Node* node = reader.node()->get("limit");
    const std::size_t slash = limit.find('/');
    const auto trim = [](std::string s) {
      s.erase(0, s.find_first_not_of(" \t"));
      s.erase(s.find_last_not_of(" \t") + 1);
      return s;
    };
    const std::string number = trim(limit.substr(0, slash));
    const std::string unit = slash == std::string::npos ? "" : trim(limit.substr(slash + 1));
    const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (slash == std::string::npos || limit.find('/', slash + 1) != std::string::npos) {
      reader.diagnostics().error(node->origin, reader.keyPath("limit"),
                                 fmt::format("rate in invalid format: {}. Must be specified as \"number/unit\", e.g. \"100/s\"", limit));
    } else if (ec != std::errc() || end != number.data() + number.size() || value < 0) {
      reader.diagnostics().error(node->origin, reader.keyPath("limit"), fmt::format("rate's value component is not numeric: {}", number));
    } else if (unit != "s" && unit != "m" && unit != "h") {
      reader.diagnostics().error(node->origin, reader.keyPath("limit"), "rate's unit component must be specified as one of: /s, /m, /h");
    } else {
      seconds = unit == "s" ? 1 : unit == "m" ? 60 : 3600;
    }
  }
  reader.strings("fields", out.fields);
  std::sort(out.fields.begin(), out.fields.end());
  double burst = 1.0;
  if (const Node* algorithm = reader.take("algorithm")) {
    MapReader algo(algorithm, reader.keyPath("algorithm"), reader.diagnostics());
    if (algorithm->isMap() && !algorithm->entries.empty() && algorithm->entries.front().key != "token_bucket") {
      reader.diagnostics().error(algorithm->entries.front().keyOrigin, algo.keyPath(algorithm->entries.front().key),
                                 "unknown rate limiting algorithm; the one there is: token_bucket");
    }
    MapReader bucket(algo.take("token_bucket"), algo.keyPath("token_bucket"), reader.diagnostics());
    if (const Node* b = bucket.node() ? bucket.node()->get("burst_multiplier") : nullptr) {
      const auto [end, ec] = std::from_chars(b->scalar.data(), b->scalar.data() + b->scalar.size(), burst);
      if (!b->isScalar() || ec != std::errc() || end != b->scalar.data() + b->scalar.size() || burst <= 0) {
        reader.diagnostics().error(b->origin, bucket.keyPath("burst_multiplier"), "expected a positive number, got " + describeValue(*b));
        burst = 1.0;
      }
      bucket.take("burst_multiplier");
    }
    MapReader gc(bucket.take("gc"), bucket.keyPath("gc"), reader.diagnostics());
    std::int64_t calls = static_cast<std::int64_t>(out.gcNumCalls);
    gc.integer("num_calls", calls, 1, std::int64_t{1} << 40);
    out.gcNumCalls = static_cast<std::uint64_t>(calls);
    gc.finish();
    bucket.finish();
    algo.finish();
  }
  out.perSecond = value / seconds;
  out.depth = value * burst;
}

void decodeAddId(MapReader& reader, const Origin&, AddIdConfig& out) {
  reader.string("target_field", out.targetField);
  std::string type = "elasticsearch";
  reader.oneOf("type", type, {"elasticsearch"});
  if (out.targetField.empty()) reader.diagnostics().error(reader.node() ? reader.node()->origin : Origin{}, reader.keyPath("target_field"), "must not be empty");
}

void decodeScript(MapReader& reader, const Origin& origin, ScriptConfig& out) {
  std::string lang;
  if (required(reader, "lang", "lang: javascript", origin)) {
    reader.string("lang", lang);
    if (lower(lang) != "javascript" && lower(lang) != "js") {
      reader.diagnostics().error(reader.node()->get("lang")->origin, reader.keyPath("lang"),
                                 fmt::format("script type must be declared (e.g. lang: javascript); \"{}\" is not a language fimbeat runs", lang));
    }
  }
  reader.string("tag", out.tag);
  std::string id;
  reader.string("id", id);  // Beats' examples name scripts with `id`; it names the processor like `tag`
  if (out.tag.empty()) out.tag = id;
  std::string source;
  reader.string("source", source);
  std::string file;
  reader.string("file", file);
  std::vector<std::string> files;
  reader.strings("files", files);
  const int given = !source.empty() + !file.empty() + !files.empty();
  if (given == 0) {
    reader.diagnostics().error(origin, reader.path(), "javascript must be defined via 'file', 'files', or inline as 'source'");
  } else if (given > 1) {
    reader.diagnostics().error(origin, reader.path(), "javascript can be defined in only one of 'file', 'files', or inline as 'source'");
  }
  if (!source.empty()) {
    out.code = source;
    out.parts.push_back({"inline.js", 1, static_cast<int>(std::count(source.begin(), source.end(), '\n')) + 1});
  } else {
    out.files = file.empty() ? files : std::vector<std::string>{file};
    const Node* key = reader.node()->get(file.empty() ? "files" : "file");
    out.origin = key ? key->origin : origin;
  }
  if (const Node* params = reader.take("params"); params && !params->isNull()) {
    if (params->isMap()) out.params = *params;
    else reader.diagnostics().error(params->origin, reader.keyPath("params"), "expected a map of parameters, got " + describeValue(*params));
  }
  reader.duration("timeout", out.timeout);
  if (out.timeout.count() < 0) reader.diagnostics().error(origin, reader.keyPath("timeout"), "must not be negative");
  reader.integer("max_cached_sessions", out.maxCachedSessions, 0, 1024);
  reader.string("tag_on_exception", out.tagOnException);
}

}  // namespace

bool decodeTransformProcessor(const std::string& name, MapReader& reader, const Origin& origin, ProcessorConfig& out) {
  if (name == "convert") decodeConvert(reader, origin, out.options.emplace<ConvertConfig>());
  else if (name == "decode_json_fields") decodeDecodeJsonFields(reader, origin, out.options.emplace<DecodeJsonFieldsConfig>());
  else if (name == "dissect") decodeDissect(reader, origin, out.options.emplace<DissectConfig>());
  else if (name == "extract_array") decodeExtractArray(reader, origin, out.options.emplace<ExtractArrayConfig>());
  else if (name == "rate_limit") decodeRateLimit(reader, origin, out.options.emplace<RateLimitConfig>());
  else if (name == "add_id") decodeAddId(reader, origin, out.options.emplace<AddIdConfig>());
  else if (name == "script") decodeScript(reader, origin, out.options.emplace<ScriptConfig>());
  else return false;
  return true;
}

const std::vector<std::string>& transformProcessorNames() {
  static const std::vector<std::string> kNames{"convert", "decode_json_fields", "dissect", "extract_array",
                                               "rate_limit", "add_id", "script"};
  return kNames;
}

}  // namespace fim::config
