#pragma once
// JsonTextWriter: rapidjson's Writer plus the two things both of the mapper's encoders need:
// writing text known to need no escaping in one copy, and writing any text as valid UTF-8
// (invalid sequences become U+FFFD). isPlainAscii() decides which of the two a string takes.

#include <cstring>
#include <string>
#include <string_view>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace fim::mapper {

// True when every byte is printable ASCII other than '"' and '\\': JSON needs no escape, and the
// text is valid UTF-8.
bool isPlainAscii(std::string_view s);

class JsonTextWriter : public rapidjson::Writer<rapidjson::StringBuffer> {
 public:
  // `s` must satisfy isPlainAscii (schema names and constants do).
  void plainString(std::string_view s) {
    Prefix(rapidjson::kStringType);
    char* out = os_->Push(s.size() + 2);
    out[0] = '"';
    std::memcpy(out + 1, s.data(), s.size());
    out[s.size() + 1] = '"';
    EndValue(true);
  }

  // "key":"value" in one copy; both must satisfy isPlainAscii. Only inside an object.
  void plainMember(std::string_view key, std::string_view value) {
    Prefix(rapidjson::kStringType);  // the key's place (and the comma before it)
    char* out = os_->Push(key.size() + value.size() + 5);
    *out++ = '"';
    std::memcpy(out, key.data(), key.size());
    out += key.size();
    std::memcpy(out, "\":\"", 3);
    out += 3;
    std::memcpy(out, value.data(), value.size());
    out[value.size()] = '"';
    ++level_stack_.template Top<Level>()->valueCount;  // the value's place: its ':' is written above
    EndValue(true);
  }

  // `json` must be one complete, valid JSON value of type `type` (a fragment this program wrote).
  void rawValue(std::string_view json, rapidjson::Type type) {
    Prefix(type);
    std::memcpy(os_->Push(json.size()), json.data(), json.size());
    EndValue(true);
  }

  // `json` must be `count` (> 0) complete members ("a":1,"b":{}) of the object being written.
  void rawMembers(std::string_view json, std::size_t count) {
    Prefix(rapidjson::kStringType);  // the first key's place (and the comma before it)
    std::memcpy(os_->Push(json.size()), json.data(), json.size());
    level_stack_.template Top<Level>()->valueCount += 2 * count - 1;
    EndValue(true);
  }

  // Any bytes, as a key or a value: copied when plain, else escaped, invalid UTF-8 repaired.
  void text(std::string_view s, bool isKey = false);

 private:
  std::string repaired_;
};

}  // namespace fim::mapper
