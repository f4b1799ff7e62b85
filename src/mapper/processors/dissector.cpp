#include "mapper/processors/dissector.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

#include <fmt/format.h>

#include "config/processors_config.h"

namespace fim::mapper::processors {
namespace {

// "key/2#4->" → key "key", ordinal 2, length 4, greedy (the suffixes Beats' suffixRE accepts).
struct KeyParts {
  std::string key;
  int ordinal = 0;
  std::size_t length = 0;
  bool greedy = false;
};

bool takeNumberSuffix(std::string& key, char mark, int& out) {
  const std::size_t at = key.rfind(mark);
  if (at == std::string::npos || at == 0 || key.size() - at - 1 < 1 || key.size() - at - 1 > 2) return false;
  for (std::size_t i = at + 1; i < key.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(key[i]))) return false;
  }
  out = std::atoi(key.c_str() + at + 1);
  key.resize(at);
  return true;
}

KeyParts keyParts(std::string raw) {
  KeyParts parts;
  if (raw.size() > 2 && raw.ends_with("->")) {
    parts.greedy = true;
    raw.resize(raw.size() - 2);
  }
  int length = 0;
  if (takeNumberSuffix(raw, '#', length)) parts.length = static_cast<std::size_t>(length);
  takeNumberSuffix(raw, '/', parts.ordinal);
  parts.key = std::move(raw);
  return parts;
}

std::optional<std::int64_t> parseInt(std::string_view s, int bits) {
  int base = 10;
  if (s.starts_with("0x") || s.starts_with("0X")) {
    base = 16;
    s.remove_prefix(2);
  }
  std::int64_t value = 0;
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value, base);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  if (bits == 32 && (value < INT32_MIN || value > INT32_MAX)) return std::nullopt;
  return value;
}

// %{key|type}: the value converted, or the text as it is when it does not convert (Beats).
rapidjson::Value convert(const std::string& type, const std::string& raw, rapidjson::Document::AllocatorType& a) {
  std::string text = raw;
  while (!text.empty() && text.back() == ' ') text.pop_back();
  const auto asString = [&] { return rapidjson::Value(raw.data(), static_cast<rapidjson::SizeType>(raw.size()), a); };
  if (type == "string") return rapidjson::Value(text.data(), static_cast<rapidjson::SizeType>(text.size()), a);
  if (type == "long" || type == "integer") {
    if (auto n = parseInt(text, type == "long" ? 64 : 32)) return rapidjson::Value(*n);
    return asString();
  }
  if (type == "float" || type == "double") {
    char* end = nullptr;
    const double d = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || std::isspace(static_cast<unsigned char>(text.front()))) return asString();
    if (type == "double") return rapidjson::Value(d);
    char buffer[64];  // a float32, written as its shortest decimal form
    const auto stop = std::to_chars(buffer, buffer + sizeof buffer, static_cast<float>(d)).ptr;
    double shortest = 0;
    std::from_chars(buffer, stop, shortest);
    return rapidjson::Value(shortest);
  }
  if (type == "boolean") {
    for (const char* yes : {"1", "t", "T", "TRUE", "true", "True"}) {
      if (text == yes) return rapidjson::Value(true);
    }
    for (const char* no : {"0", "f", "F", "FALSE", "false", "False"}) {
      if (text == no) return rapidjson::Value(false);
    }
    return asString();
  }
  if (type == "ip") {
    return config::parseIpAddress(text) ? rapidjson::Value(text.data(), static_cast<rapidjson::SizeType>(text.size()), a) : asString();
  }
  return asString();
}

std::size_t indexOf(std::string_view text, const std::string& needle, std::size_t offset) {
  if (needle.empty()) return offset;
  return text.find(needle, offset);
}

}  // namespace

core::Result<Dissector> Dissector::compile(std::string_view tokenizer, Trim trim, std::string trimChars) {
  Dissector d;
  d.pattern_ = tokenizer;
  d.trim_ = trim;
  d.trimChars_ = std::move(trimChars);
  std::size_t pos = 0;
  std::vector<Field> fields;
  for (;;) {
    const std::size_t open = tokenizer.find("%{", pos);
    if (open == std::string_view::npos) break;
    const std::size_t close = tokenizer.find('}', open + 2);
    if (close == std::string_view::npos) break;
    Delimiter delimiter{std::string(tokenizer.substr(pos, open - pos)), false};
    const std::string raw(tokenizer.substr(open + 2, close - open - 2));
    Field f;
    f.id = fields.size();
    f.kind = Kind::Skip;
    if (!raw.empty()) {
      KeyParts parts = keyParts(raw);
      std::string& key = parts.key;
      if (key.starts_with("+&") || key.starts_with("&+")) return core::fail(core::ErrorCode::InvalidArgument, "mixed prefix `&+`");
      f.length = parts.length;
      if (key.starts_with("?") || key.starts_with("*") || key.starts_with("&")) {
        f.kind = key[0] == '?' ? Kind::NamedSkip : key[0] == '*' ? Kind::Pointer : Kind::Indirect;
        f.key = key.substr(1);
      } else if (key.starts_with("+")) {
        f.kind = Kind::Append;
        f.key = key.substr(1);
        f.ordinal = parts.ordinal;
        f.greedy = parts.greedy;
        if (!delimiter.needle.empty()) f.joiner = delimiter.needle;
      } else {
        f.kind = Kind::Normal;
        const std::size_t bar = key.find('|');
        f.key = key.substr(0, bar);
        if (bar != std::string::npos) {
          const std::size_t next = key.find('|', bar + 1);
          f.type = key.substr(bar + 1, next == std::string::npos ? std::string::npos : next - bar - 1);
          d.converts_ = true;
        }
        f.ordinal = parts.ordinal;
        f.greedy = parts.greedy;
      }
    }
    if (f.greedy) delimiter.greedy = true;
    d.delimiters_.push_back(std::move(delimiter));
    fields.push_back(std::move(f));
    pos = close + 1;
  }
  if (fields.empty()) return core::fail(core::ErrorCode::InvalidArgument, "invalid dissect tokenizer: it has no %{key}");
  if (pos < tokenizer.size()) d.delimiters_.push_back({std::string(tokenizer.substr(pos)), false});
  for (std::size_t i = 0; i + 1 < d.delimiters_.size(); ++i) {
    // Beats would loop forever looking for repeats of an empty delimiter after a `->` key.
    if (d.delimiters_[i].greedy && d.delimiters_[i + 1].needle.empty()) {
      return core::failf(core::ErrorCode::InvalidArgument,
                         "invalid dissect tokenizer: the padded key %{{{}->}} needs a delimiter after it", fields[i].key);
    }
  }
  for (const auto& f : fields) {
    if (f.kind != Kind::Indirect) continue;
    const bool referenced = std::any_of(fields.begin(), fields.end(), [&](const Field& r) {
      return (r.kind == Kind::NamedSkip || r.kind == Kind::Pointer) && r.key == f.key;
    });
    if (!referenced) {
      return core::failf(core::ErrorCode::InvalidArgument,
                         "missing reference for key '{}' (declare it with %{{?{}}} or %{{*{}}})", f.key, f.key, f.key);
    }
  }
  std::stable_sort(fields.begin(), fields.end(), [](const Field& a, const Field& b) { return a.ordinal < b.ordinal; });
  d.byPosition_.resize(fields.size());
  for (std::size_t i = 0; i < fields.size(); ++i) d.byPosition_[fields[i].id] = i;
  d.fields_ = std::move(fields);
  return d;
}

bool Dissector::extract(std::string_view s, std::vector<Span>& spans, std::string* error) const {
  const auto fail = [&](std::string message) {
    if (error) *error = std::move(message);
    return false;
  };
  spans.assign(fields_.size(), Span{});
  const Delimiter& first = delimiters_.front();
  if (indexOf(s, first.needle, 0) != 0) {
    return fail(fmt::format("could not find beginning delimiter: `{}` in remaining: `{}`, (offset: 0)", first.needle, s));
  }
  std::size_t offset = first.needle.size();
  std::size_t i = 0;
  for (std::size_t d = 0; d + 1 < delimiters_.size(); ++d, ++i) {
    const Delimiter& next = delimiters_[d + 1];
    const Field& field = fields_[byPosition_[i]];
    const std::size_t start = offset;
    std::size_t end = 0;
    if (field.length > 0) {
      end = offset + field.length;
      if (end > s.size()) return fail(fmt::format("field length is greater than string length: remaining: `{}`, (offset: {})", s.substr(offset), offset));
    } else {
      end = indexOf(s, next.needle, offset);
      if (end == std::string_view::npos) {
        return fail(fmt::format("could not find delimiter: `{}` in remaining: `{}`, (offset: {})", next.needle, s.substr(offset), offset));
      }
    }
    offset = end;
    if (delimiters_[d].greedy) {  // skip repeats of the next delimiter (right padding)
      for (std::size_t ahead = indexOf(s, next.needle, offset + 1); ahead == offset + 1; ahead = indexOf(s, next.needle, offset + 1)) {
        offset = ahead;
      }
    }
    spans[i] = {start, end};
    offset += next.needle.size();
  }
  if (i < fields_.size()) {
    const Field& last = fields_[byPosition_[i]];
    if (last.length > 0 && offset + last.length != s.size()) {
      return fail(fmt::format("last fixed length key `{}` (length: {}) does not fit into remaining: `{}`, (offset: {})", last.key,
                              last.length, s, offset));
    }
    if (offset < s.size()) spans[i] = {offset, s.size()};  // the last key takes the rest
  }
  return true;
}

Dissector::Span Dissector::trimmed(std::string_view s, Span span) const {
  const auto drop = [&](char c) { return trimChars_.find(c) != std::string::npos; };
  if (trim_ == Trim::Left || trim_ == Trim::All) {
    while (span.start < span.end && drop(s[span.start])) ++span.start;
  }
  if (trim_ == Trim::Right || trim_ == Trim::All) {
    while (span.end > span.start && drop(s[span.end - 1])) --span.end;
  }
  return span;
}

std::optional<Dissector::Fields> Dissector::dissect(std::string_view s, rapidjson::Document::AllocatorType& a,
                                                    std::string* error) const {
  if (s.empty()) {
    if (error) *error = "empty string provided";
    return std::nullopt;
  }
  std::vector<Span> spans;
  if (!extract(s, spans, error)) return std::nullopt;
  std::vector<std::pair<std::string, std::string>> values;  // in the order keys first appear
  const auto slot = [&](const std::string& key) -> std::string* {
    for (auto& [k, v] : values) {
      if (k == key) return &v;
    }
    return nullptr;
  };
  for (const Field& f : fields_) {
    const Span span = trim_ == Trim::None ? spans[f.id] : trimmed(s, spans[f.id]);
    std::string text(s.substr(span.start, span.end - span.start));
    std::string* existing = slot(f.key);
    switch (f.kind) {
      case Kind::Skip: break;
      case Kind::Normal:
      case Kind::NamedSkip:
      case Kind::Pointer:
        if (existing) *existing = std::move(text);
        else values.emplace_back(f.key, std::move(text));
        break;
      case Kind::Append:
        if (existing) *existing += f.joiner + text;
        else values.emplace_back(f.key, std::move(text));
        break;
      case Kind::Indirect:
        if (existing) {
          const std::string name = *existing;
          if (std::string* target = slot(name)) *target = std::move(text);
          else values.emplace_back(name, std::move(text));
        }
        break;
    }
  }
  Fields out;
  for (auto& [key, text] : values) {
    const bool reference = std::any_of(fields_.begin(), fields_.end(), [&](const Field& f) {
      return (f.kind == Kind::NamedSkip || f.kind == Kind::Pointer || f.kind == Kind::Skip) && f.key == key;
    });
    if (reference) continue;
    const Field* typed = nullptr;
    for (const Field& f : fields_) {
      if (converts_ && f.kind == Kind::Normal && !f.type.empty() && f.key == key) typed = &f;
    }
    out.emplace_back(key, typed ? convert(typed->type, text, a)
                                : rapidjson::Value(text.data(), static_cast<rapidjson::SizeType>(text.size()), a));
  }
  return out;
}

}  // namespace fim::mapper::processors
