#pragma once
// Encodes a saved object as one NDJSON line of an import: the attributes Kibana stores as JSON
// strings (panelsJSON, optionsJSON, searchSourceJSON, controlGroupInput.panelsJSON, ...) are
// turned into strings when the file keeps them as objects, as Beats' EncodeJSONObjects does.

#include <string>

#include "core/result.h"
#include "kibana/saved_object.h"

namespace fim::kibana {

struct EncodeOptions {
  std::string dataViewTitle;  // replaces a data view's title (its index pattern); empty: kept
};

// One line of JSON without the trailing newline.
[[nodiscard]] core::Result<std::string> encodeObject(const ObjectFile& object, const EncodeOptions& options);

// Whether Kibana stores the attribute at this path ("attributes.panelsJSON") as a JSON string.
bool storedAsJsonString(std::string_view path);

}  // namespace fim::kibana
