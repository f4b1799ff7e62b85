#pragma once
// Reading the JSON answers of the services the enrichers ask (Docker, Kubernetes) with simdjson:
// one error wording for a body that is not JSON, and a string member read by JSON pointer that
// is empty when it is missing or not a string.

#include <string>
#include <string_view>

#include <simdjson.h>

#include "core/result.h"

namespace fim::core {

// `what` names the document in the error: "Docker's container list is not JSON: ...".
Result<simdjson::dom::element> parseJson(simdjson::dom::parser& parser, std::string_view json, std::string_view what);

// The string at `pointer` ("/metadata/name"), or "" when it is missing or not a string.
std::string stringAt(simdjson::dom::element element, std::string_view pointer);

}  // namespace fim::core
