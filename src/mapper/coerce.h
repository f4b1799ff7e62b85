#pragma once
// Coercion of one JSON scalar to a declared field type, as the encoder applies it to every leaf:
// a number given for a keyword becomes its decimal text, "42" for a long becomes 42, "true" for a
// boolean becomes true, epoch milliseconds for a date become ISO-8601; what cannot be converted
// (an address that is not an IP, "abc" for a long, a number for a boolean, an object for any
// leaf) is Invalid.

#include <array>
#include <cstdint>
#include <string_view>

#include <rapidjson/document.h>

#include "mapper/schema.h"

namespace fim::mapper {

struct Coerced {
  enum class Kind { Invalid, Null, String, Int, Uint, Double, Bool };
  Kind kind = Kind::Invalid;
  std::string_view string;  // String: the input's text or `buffer` (not yet checked for UTF-8)
  std::int64_t i = 0;
  std::uint64_t u = 0;
  double d = 0;
  bool b = false;
  std::array<char, 40> buffer;

  Coerced() = default;
  Coerced(const Coerced&) = delete;  // `string` may point into `buffer`
  Coerced& operator=(const Coerced&) = delete;
};

// `value` must not be an array; objects are Invalid for every leaf type.
void coerce(const rapidjson::Value& value, FieldType type, Coerced& out);

// strict_date_optional_time: yyyy[-MM[-dd]][Thh[:mm[:ss[.fraction]]]][Z|±hh[:mm]].
bool isIsoDate(std::string_view text);
bool isIpAddress(std::string_view text);  // IPv4 dotted quad or IPv6

}  // namespace fim::mapper
