#include "mapper/coerce.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "core/time_format.h"

namespace fim::mapper {
namespace {

using Kind = Coerced::Kind;

bool digits(std::string_view s, std::size_t at, std::size_t n, int& out, int max) {
  if (at + n > s.size()) return false;
  out = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return out <= max;
}

bool isZone(std::string_view s) {
  if (s == "Z") return true;
  if (s.empty() || (s[0] != '+' && s[0] != '-')) return false;
  int v = 0;
  if (s.size() == 3) return digits(s, 1, 2, v, 23);
  if (s.size() == 5) return digits(s, 1, 2, v, 23) && digits(s, 3, 2, v, 59);
  if (s.size() == 6) return digits(s, 1, 2, v, 23) && s[3] == ':' && digits(s, 4, 2, v, 59);
  return false;
}

bool isTime(std::string_view s) {  // after the 'T'
  int v = 0;
  if (!digits(s, 0, 2, v, 23)) return false;
  std::size_t at = 2;
  for (int part = 0; part < 2 && at < s.size() && s[at] == ':'; ++part) {
    if (!digits(s, at + 1, 2, v, part == 0 ? 59 : 60)) return false;
    at += 3;
  }
  if (at < s.size() && (s[at] == '.' || s[at] == ',')) {
    const std::size_t start = ++at;
    while (at < s.size() && s[at] >= '0' && s[at] <= '9') ++at;
    if (at == start || at - start > 9) return false;
  }
  return at == s.size() || isZone(s.substr(at));
}

template <typename T>
bool parseWhole(std::string_view s, T& out) {
  if (s.empty()) return false;
  const char* begin = s.data();
  if (s[0] == '+') ++begin;
  const auto [end, ec] = std::from_chars(begin, s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

void setString(Coerced& out, std::string_view s) {
  out.kind = Kind::String;
  out.string = s;
}

void setFormatted(Coerced& out, std::string_view s) {
  const auto n = std::min(s.size(), out.buffer.size());
  std::copy_n(s.data(), n, out.buffer.data());
  setString(out, std::string_view(out.buffer.data(), n));
}

void toText(const rapidjson::Value& v, Coerced& out) {
  if (v.IsString()) return setString(out, std::string_view(v.GetString(), v.GetStringLength()));
  if (v.IsBool()) return setString(out, v.GetBool() ? "true" : "false");
  char* begin = out.buffer.data();
  char* end = begin;
  if (v.IsInt64()) end = std::to_chars(begin, begin + out.buffer.size(), v.GetInt64()).ptr;
  else if (v.IsUint64()) end = std::to_chars(begin, begin + out.buffer.size(), v.GetUint64()).ptr;
  else if (v.IsDouble() && std::isfinite(v.GetDouble())) end = fmt::format_to_n(begin, out.buffer.size(), "{}", v.GetDouble()).out;
  else return;  // object, or a NaN/infinity no JSON can hold
  setString(out, std::string_view(begin, static_cast<std::size_t>(end - begin)));
}

// The number a value stands for, as ES coerces it: strings are parsed, fractions truncated.
bool toDouble(const rapidjson::Value& v, double& out) {
  if (v.IsNumber()) {
    out = v.GetDouble();
  } else if (v.IsString()) {
    if (!parseWhole(std::string_view(v.GetString(), v.GetStringLength()), out)) return false;
  } else {
    return false;
  }
  return std::isfinite(out);
}

void toSigned(const rapidjson::Value& v, std::int64_t min, std::int64_t max, Coerced& out) {
  std::int64_t n = 0;
  if (v.IsInt64()) {
    n = v.GetInt64();
  } else if (v.IsString() && parseWhole(std::string_view(v.GetString(), v.GetStringLength()), n)) {
  } else {
    double d = 0;
    if (v.IsUint64() || !toDouble(v, d)) return;  // a uint64 that is not an int64 is out of range
    d = std::trunc(d);
    if (d < -9223372036854775808.0 || d >= 9223372036854775808.0) return;
    n = static_cast<std::int64_t>(d);
  }
  if (n < min || n > max) return;
  out.kind = Kind::Int;
  out.i = n;
}

void toUnsigned(const rapidjson::Value& v, Coerced& out) {
  std::uint64_t n = 0;
  if (v.IsUint64()) {
    n = v.GetUint64();
  } else if (v.IsString() && parseWhole(std::string_view(v.GetString(), v.GetStringLength()), n)) {
  } else {
    double d = 0;
    if (v.IsInt64() || !toDouble(v, d)) return;  // an int64 that is not a uint64 is negative
    d = std::trunc(d);
    if (d < 0 || d >= 18446744073709551616.0) return;
    n = static_cast<std::uint64_t>(d);
  }
  out.kind = Kind::Uint;
  out.u = n;
}

void toDate(const rapidjson::Value& v, Coerced& out) {
  std::int64_t millis = 0;
  if (v.IsString()) {
    const std::string_view s(v.GetString(), v.GetStringLength());
    if (isIsoDate(s)) return setString(out, s);
    if (!parseWhole(s, millis)) return;  // epoch_millis as text
  } else if (v.IsInt64()) {
    millis = v.GetInt64();
  } else if (v.IsNumber() && !v.IsUint64()) {
    const double d = v.GetDouble();
    if (!std::isfinite(d) || std::abs(d) > 1e17) return;
    millis = static_cast<std::int64_t>(std::trunc(d));
  } else {
    return;
  }
  if (millis < -62135596800000 || millis > 253402300799999) return;  // years 1..9999
  std::array<char, 32> text;
  setFormatted(out, core::formatTimestamp(core::TimePoint(std::chrono::milliseconds(millis)), text));
}

}  // namespace

bool isIsoDate(std::string_view s) {
  int v = 0;
  if (!digits(s, 0, 4, v, 9999)) return false;
  std::size_t at = 4;
  if (at < s.size() && s[at] == '-') {
    if (!digits(s, at + 1, 2, v, 12) || v == 0) return false;
    at += 3;
    if (at < s.size() && s[at] == '-') {
      if (!digits(s, at + 1, 2, v, 31) || v == 0) return false;
      at += 3;
    }
  }
  if (at == s.size()) return true;
  return s[at] == 'T' && isTime(s.substr(at + 1));
}

bool isIpAddress(std::string_view text) {
  char buffer[64];
  if (text.empty() || text.size() >= sizeof buffer) return false;
  std::copy(text.begin(), text.end(), buffer);
  buffer[text.size()] = '\0';
  unsigned char address[16];
  const int family = text.find(':') == std::string_view::npos ? AF_INET : AF_INET6;
  return ::inet_pton(family, buffer, address) == 1;
}

void coerce(const rapidjson::Value& v, FieldType type, Coerced& out) {
  out.kind = Kind::Invalid;
  if (v.IsNull()) {
    out.kind = Kind::Null;
    return;
  }
  if (v.IsObject() || v.IsArray()) return;
  switch (type) {
    case FieldType::Keyword:
    case FieldType::ConstantKeyword:
    case FieldType::Wildcard:
    case FieldType::Text:
    case FieldType::MatchOnlyText:
    case FieldType::Flattened:
    case FieldType::Object:
    case FieldType::GeoPoint:
      return toText(v, out);
    case FieldType::Date:
      return toDate(v, out);
    case FieldType::Ip:
      if (v.IsString() && isIpAddress(std::string_view(v.GetString(), v.GetStringLength()))) {
        setString(out, std::string_view(v.GetString(), v.GetStringLength()));
      }
      return;
    case FieldType::Long: return toSigned(v, std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max(), out);
    case FieldType::Integer: return toSigned(v, std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::max(), out);
    case FieldType::Short: return toSigned(v, std::numeric_limits<std::int16_t>::min(), std::numeric_limits<std::int16_t>::max(), out);
    case FieldType::Byte: return toSigned(v, std::numeric_limits<std::int8_t>::min(), std::numeric_limits<std::int8_t>::max(), out);
    case FieldType::UnsignedLong: return toUnsigned(v, out);
    case FieldType::Double:
    case FieldType::Float:
    case FieldType::HalfFloat:
    case FieldType::ScaledFloat:
      if (!v.IsBool() && toDouble(v, out.d)) out.kind = Kind::Double;
      return;
    case FieldType::Boolean:
      if (v.IsBool()) {
        out.kind = Kind::Bool;
        out.b = v.GetBool();
      } else if (v.IsString()) {
        const std::string_view s(v.GetString(), v.GetStringLength());
        if (s == "true" || s == "false") {
          out.kind = Kind::Bool;
          out.b = s == "true";
        }
      }
      return;
    case FieldType::Group:
    case FieldType::Nested:
      return;
  }
}

}  // namespace fim::mapper
