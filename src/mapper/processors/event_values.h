#pragma once
// Small operations on a document's values that several processors share, with the semantics of
// Beats' event API (mapstr.M Put, AddTagsWithKey, fmt's %v).

#include <optional>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "mapper/processors/field_path.h"

namespace fim::mapper::processors {

std::string_view textOf(const rapidjson::Value& string);
rapidjson::Value stringValue(std::string_view text, Allocator& allocator);

// Go's fmt %v: strings as they are, numbers in their shortest form, booleans as words, null as
// <nil>, arrays as [a b], objects as map[k:v ...] with sorted keys.
std::string goFormat(const rapidjson::Value& value);
// Go's %T of the value a Beats event would hold ("string", "bool", "[]interface {}", ...).
std::string goTypeName(const rapidjson::Value& value);

// Sets `path` to `value` (moved), replacing what is there (mapstr.M.Put: objects are not merged),
// creating objects on the way. False (nothing changed) when a part on the way is not an object.
bool setField(rapidjson::Value& root, const FieldPath& path, rapidjson::Value& value, Allocator& allocator);

// Appends `item` to the list at `path`, creating it (mapstr.AddTagsWithKey). A string there becomes
// the list's first element; false when something else is there.
bool appendToList(rapidjson::Value& root, const FieldPath& path, std::string_view item, Allocator& allocator);

// error.message = message (replacing a previous one), as Beats' processors report a failure.
void setErrorMessage(rapidjson::Document& document, std::string_view message);

}  // namespace fim::mapper::processors
