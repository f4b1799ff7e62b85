#pragma once
// The RapidJSON writer the mapper uses, and helpers that keep every string valid UTF-8.

#include <string>
#include <string_view>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace fim::mapper {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void putString(JsonWriter& w, std::string_view value);  // bytes that are not UTF-8 become U+FFFD
void putKeyString(JsonWriter& w, const char* key, std::string_view value);

}  // namespace fim::mapper
