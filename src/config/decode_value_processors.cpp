// The value processors' options (add_labels, copy_fields, urldecode, decode_base64_field,
// truncate_fields, replace, add_locale, fingerprint), with Beats' names and defaults.

#include <re2/re2.h>

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "config/decode.h"

namespace fim::config {
namespace {

bool present(MapReader& reader, std::string_view key, std::string_view example, const Origin& origin) {
  const Node* value = reader.node() ? reader.node()->get(key) : nullptr;
  if (!value || value->isNull() || (value->isSequence() && value->items.empty()) || (value->isMap() && value->entries.empty())) {
    reader.diagnostics().error(value ? value->origin : origin, reader.keyPath(key), fmt::format("is required, for example `{}`", example));
    return false;
  }
  return true;
}

// {a: {b: 1}, c: [x, y]} → {"a.b": 1, "c.0": x, "c.1": y}: add_labels flattens, as Beats do.
void flatten(const Node& node, const std::string& prefix, Node& out) {
  if (node.isMap() && !node.entries.empty()) {
    for (const auto& e : node.entries) flatten(e.value, prefix.empty() ? e.key : prefix + "." + e.key, out);
  } else if (node.isSequence() && !node.items.empty()) {
    for (std::size_t i = 0; i < node.items.size(); ++i) flatten(node.items[i], prefix + "." + std::to_string(i), out);
  } else {
    out.entries.push_back(Entry{prefix, node, node.origin});
  }
}

// Go's regexp replacement ($1, ${1}, $$) in RE2's syntax (\1, \\).
std::string goReplacement(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '$' && i + 1 < text.size() && text[i + 1] == '$') {
      out += '$';
      ++i;
    } else if (c == '$' && i + 1 < text.size() && std::isdigit(static_cast<unsigned char>(text[i + 1]))) {
      out += '\\';
      out += text[++i];
    } else if (c == '$' && i + 3 < text.size() && text[i + 1] == '{' && std::isdigit(static_cast<unsigned char>(text[i + 2])) &&
               text[i + 3] == '}') {
      out += '\\';
      out += text[i + 2];
      i += 3;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

void decodeAddLabels(MapReader& reader, const Origin& origin, AddFieldsConfig& out) {
  out.target = "labels";
  if (!present(reader, "labels", "labels: {env: production}", origin)) {
    reader.take("labels");
    return;
  }
  const Node* labels = reader.take("labels");
  if (!labels->isMap()) {
    reader.diagnostics().error(labels->origin, reader.keyPath("labels"), "expected a map of labels, got " + describeValue(*labels));
    return;
  }
  out.fields = Node::map(labels->origin);
  flatten(*labels, "", out.fields);
}

void decodeFieldCopy(MapReader& reader, const Origin& origin, FieldCopyConfig& out) {
  reader.boolean("ignore_missing", out.ignoreMissing);
  reader.boolean("fail_on_error", out.failOnError);
  if (out.kind == FieldCopyConfig::Kind::Base64Decode) {  // one `field: {from, to}`
    if (!present(reader, "field", "field: {from: message, to: decoded}", origin)) return;
    MapReader pair(reader.take("field"), reader.keyPath("field"), reader.diagnostics());
    RenameConfig::Pair names;
    pair.string("from", names.from);
    pair.string("to", names.to);
    pair.finish();
    if (names.from.empty()) reader.diagnostics().error(origin, reader.keyPath("field.from"), "is required");
    else out.fields.push_back(std::move(names));
    return;
  }
  if (!present(reader, "fields", "fields: [{from: a, to: b}]", origin)) {
    reader.take("fields");
    return;
  }
  const Node* fields = reader.take("fields");
  if (!fields->isSequence()) {
    reader.diagnostics().error(fields->origin, reader.keyPath("fields"), "expected a list of `{from: a, to: b}`, got " + describeValue(*fields));
    return;
  }
  for (std::size_t i = 0; i < fields->items.size(); ++i) {
    MapReader pair(&fields->items[i], reader.keyPath("fields") + "." + std::to_string(i), reader.diagnostics());
    RenameConfig::Pair names;
    pair.string("from", names.from);
    pair.string("to", names.to);
    pair.finish();
    const bool needsTo = out.kind == FieldCopyConfig::Kind::Copy;
    if (names.from.empty() || (needsTo && names.to.empty())) {
      reader.diagnostics().error(fields->items[i].origin, pair.keyPath(names.from.empty() ? "from" : "to"), "is required");
      continue;
    }
    out.fields.push_back(std::move(names));
  }
}

void decodeTruncateFields(MapReader& reader, const Origin& origin, TruncateFieldsConfig& out) {
  reader.boolean("ignore_missing", out.ignoreMissing);
  reader.boolean("fail_on_error", out.failOnError);
  if (present(reader, "fields", "fields: [message]", origin)) reader.strings("fields", out.fields);
  std::int64_t bytes = 0, characters = 0;
  reader.integer("max_bytes", bytes, 1, std::int64_t{1} << 40);
  reader.integer("max_characters", characters, 1, std::int64_t{1} << 40);
  if ((bytes > 0) == (characters > 0)) {
    reader.diagnostics().error(origin, reader.path(), "needs exactly one of max_bytes and max_characters (a positive number)");
  }
  out.maxBytes = static_cast<std::uint64_t>(bytes);
  out.maxCharacters = static_cast<std::uint64_t>(characters);
}

void decodeReplace(MapReader& reader, const Origin& origin, ReplaceConfig& out) {
  reader.boolean("ignore_missing", out.ignoreMissing);
  reader.boolean("fail_on_error", out.failOnError);
  if (!present(reader, "fields", "fields: [{field: file.path, pattern: '^/old', replacement: /new}]", origin)) {
    reader.take("fields");
    return;
  }
  const Node* fields = reader.take("fields");
  if (!fields->isSequence()) {
    reader.diagnostics().error(fields->origin, reader.keyPath("fields"), "expected a list of `{field, pattern, replacement}`");
    return;
  }
  for (std::size_t i = 0; i < fields->items.size(); ++i) {
    MapReader rule(&fields->items[i], reader.keyPath("fields") + "." + std::to_string(i), reader.diagnostics());
    ReplaceConfig::Rule r;
    rule.string("field", r.field);
    rule.string("pattern", r.pattern);
    rule.string("replacement", r.replacement);
    const bool hasReplacement = rule.has("replacement");
    rule.finish();
    if (r.field.empty() || r.pattern.empty() || !hasReplacement) {
      reader.diagnostics().error(fields->items[i].origin, rule.path(), "each entry needs field, pattern and replacement");
      continue;
    }
    RE2 re(r.pattern, RE2::Quiet);
    if (!re.ok()) {
      reader.diagnostics().error(fields->items[i].origin, rule.keyPath("pattern"),
                                 fmt::format("invalid regular expression \"{}\": {}", r.pattern, re.error()));
      continue;
    }
    r.replacement = goReplacement(r.replacement);
    out.fields.push_back(std::move(r));
  }
}

void decodeAddLocale(MapReader& reader, AddLocaleConfig& out) {
  std::string format = "offset";
  reader.oneOf("format", format, {"offset", "abbreviation"});
  out.abbreviation = format == "abbreviation";
}

void decodeFingerprint(MapReader& reader, const Origin& origin, FingerprintConfig& out) {
  if (present(reader, "fields", "fields: [file.path, file.hash.sha256]", origin)) reader.strings("fields", out.fields);
  std::sort(out.fields.begin(), out.fields.end());
  reader.string("target_field", out.targetField);
  reader.oneOf("method", out.method, {"md5", "sha1", "sha256", "sha384", "sha512", "xxhash"});
  reader.oneOf("encoding", out.encoding, {"hex", "base32", "base64"});
  reader.boolean("ignore_missing", out.ignoreMissing);
  if (out.targetField.empty()) reader.diagnostics().error(origin, reader.keyPath("target_field"), "must not be empty");
}

}  // namespace fim::config
