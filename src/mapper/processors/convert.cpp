// convert: changes the type of fields (integer, long, float, double, string, boolean, ip), in
// place or into another field (mode copy or rename), as Beats' libbeat/processors/convert.

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "mapper/processors/event_values.h"
#include "mapper/processors/transform_processors.h"

namespace fim::mapper::processors {
namespace {

using rapidjson::Value;
using Type = config::ConvertConfig::Type;

// Go's strconv.ParseInt(s, base, bits) where base is 16 for a 0x/0X prefix (after an optional
// sign) and 10 otherwise.
std::optional<std::int64_t> parseInteger(std::string_view s, int bits) {
  bool negative = false;
  std::string_view digits = s;
  if (!digits.empty() && (digits.front() == '+' || digits.front() == '-')) {
    negative = digits.front() == '-';
    digits.remove_prefix(1);
  }
  int base = 10;
  if (s.size() >= 3 && digits.size() >= 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    base = 16;
    digits.remove_prefix(2);
  }
  std::uint64_t magnitude = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  const std::uint64_t limit = std::uint64_t{1} << (bits - 1);
  if (negative ? magnitude > limit : magnitude >= limit) return std::nullopt;
  return negative ? static_cast<std::int64_t>(0 - magnitude) : static_cast<std::int64_t>(magnitude);
}

// Go's strconv.ParseFloat(s, bits): decimal or hexadecimal, an optional sign, inf and nan.
std::optional<double> parseFloat(std::string_view s, int bits) {
  std::string text(s);
  if (text.empty() || std::isspace(static_cast<unsigned char>(text.front()))) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return std::nullopt;
  if (errno == ERANGE && std::isinf(value)) return std::nullopt;
  if (bits == 32) {
    const float narrow = static_cast<float>(value);
    if (std::isinf(narrow) && !std::isinf(value)) return std::nullopt;
  }
  return value;
}

// A float32 as the double its shortest decimal form spells, so that 3.14 stays 3.14 in JSON (Go
// writes a float32 with 32-bit precision).
double asFloat32(double value) {
  const float narrow = static_cast<float>(value);
  if (!std::isfinite(narrow)) return narrow;
  char buffer[64];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, narrow).ptr;
  double wide = 0;
  std::from_chars(buffer, end, wide);
  return wide;
}

std::optional<bool> parseBool(std::string_view s) {  // Go's strconv.ParseBool
  for (const char* yes : {"1", "t", "T", "TRUE", "true", "True"}) {
    if (s == yes) return true;
  }
  for (const char* no : {"0", "f", "F", "FALSE", "false", "False"}) {
    if (s == no) return false;
  }
  return std::nullopt;
}

template <typename Int>
Int wrap(double d) {  // Go's conversion of a float to an integer type, for values in range
  if (!std::isfinite(d) || d >= 9.3e18 || d <= -9.3e18) return std::numeric_limits<Int>::min();
  return static_cast<Int>(static_cast<std::int64_t>(d));
}

// The value converted to `type`; nullopt where Beats' conversion fails (null to string, text
// that does not parse, a type that does not convert).
std::optional<Value> transform(Type type, const Value& v, Allocator& a) {
  const bool isInt = v.IsInt64() || v.IsUint64();
  const auto asInt64 = [&] { return v.IsInt64() ? v.GetInt64() : static_cast<std::int64_t>(v.GetUint64()); };
  switch (type) {
    case Type::String:
      if (v.IsNull()) return std::nullopt;
      return stringValue(goFormat(v), a);
    case Type::Long:
    case Type::Integer: {
      const bool longType = type == Type::Long;
      if (v.IsString()) {
        const auto parsed = parseInteger(textOf(v), longType ? 64 : 32);
        if (!parsed) return std::nullopt;
        return Value(*parsed);
      }
      std::int64_t n = 0;
      if (isInt) n = asInt64();
      else if (v.IsDouble()) n = wrap<std::int64_t>(v.GetDouble());
      else return std::nullopt;
      return longType ? Value(n) : Value(static_cast<std::int32_t>(n));
    }
    case Type::Float:
    case Type::Double: {
      const bool single = type == Type::Float;
      double d = 0;
      if (v.IsString()) {
        const auto parsed = parseFloat(textOf(v), single ? 32 : 64);
        if (!parsed) return std::nullopt;
        d = *parsed;
      } else if (isInt) {
        d = v.IsInt64() ? static_cast<double>(v.GetInt64()) : static_cast<double>(v.GetUint64());
      } else if (v.IsDouble()) {
        d = v.GetDouble();
      } else {
        return std::nullopt;
      }
      return Value(single ? asFloat32(d) : d);
    }
    case Type::Boolean:
      if (v.IsBool()) return Value(v.GetBool());
      if (v.IsString()) {
        if (const auto b = parseBool(textOf(v))) return Value(*b);
      }
      return std::nullopt;
    case Type::Ip:
      if (!v.IsString() || !config::parseIpAddress(textOf(v))) return std::nullopt;
      return Value(v, a);
    case Type::Unset: break;
  }
  return Value(v, a);
}

class Convert final : public Processor {
 public:
  explicit Convert(const config::ConvertConfig& config) : config_(config) {
    for (const auto& f : config.fields) paths_.push_back({FieldPath(f.from), FieldPath(f.to)});
  }

  Outcome run(rapidjson::Document& document) const override {
    auto& a = document.GetAllocator();
    // First every conversion, into temporary values: with fail_on_error the first failure leaves
    // the event untouched.
    std::vector<std::optional<Value>> converted(config_.fields.size());
    bool anyFailed = false;
    for (std::size_t i = 0; i < config_.fields.size(); ++i) {
      const Value* source = findField(document, paths_[i].from);
      if (!source && config_.ignoreMissing) continue;
      if (source) converted[i] = transform(config_.fields[i].type, *source, a);
      if (converted[i]) continue;
      anyFailed = true;  // missing, or not convertible
      if (config_.failOnError) return Outcome::Failed;  // nothing written yet
    }
    // Then the writes; a failing one (a part of `to` is not an object) restores the event.
    rapidjson::Document saved(&a);
    const bool transactional = config_.failOnError && config_.fields.size() > 1;
    if (transactional) saved.CopyFrom(document, a);
    for (std::size_t i = 0; i < config_.fields.size(); ++i) {
      if (!converted[i]) continue;
      const auto& field = config_.fields[i];
      Value& value = *converted[i];
      if (field.to.empty()) {
        setField(document, paths_[i].from, value, a);
        continue;
      }
      if (!setField(document, paths_[i].to, value, a)) {
        anyFailed = true;
        if (!config_.failOnError) continue;
        if (transactional) static_cast<Value&>(document) = std::move(static_cast<Value&>(saved));
        return Outcome::Failed;
      }
      if (config_.renameMode) eraseField(document, paths_[i].from);
    }
    return anyFailed ? Outcome::Failed : Outcome::Keep;
  }

 private:
  struct Paths {
    FieldPath from;
    FieldPath to;
  };
  config::ConvertConfig config_;
  std::vector<Paths> paths_;
};

}  // namespace

std::unique_ptr<Processor> makeConvert(const config::ConvertConfig& config) { return std::make_unique<Convert>(config); }

}  // namespace fim::mapper::processors
