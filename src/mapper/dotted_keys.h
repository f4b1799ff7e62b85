#pragma once
// Processors may add fields under dotted keys ({"fields.team": "ops"}); Elasticsearch and the
// schema walk need nested objects. expandDottedKeys rewrites every dotted key, at any depth, into
// nested objects, merging into objects already there: {"file": {"owner": "x"}, "file.group": "y"}
// becomes {"file": {"owner": "x", "group": "y"}}. A dotted key's value replaces a non-object
// in its way and a value already at its leaf. Keys with empty segments ("a..b", ".a") are kept
// as they are (the encoder then drops them as undeclared).

#include <rapidjson/document.h>

namespace fim::mapper {

// True when something was rewritten.
bool expandDottedKeys(rapidjson::Value& object, rapidjson::Document::AllocatorType& allocator);

}  // namespace fim::mapper
