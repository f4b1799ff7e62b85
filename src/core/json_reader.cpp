#include "core/json_reader.h"

namespace fim::core {

Result<simdjson::dom::element> parseJson(simdjson::dom::parser& parser, std::string_view json, std::string_view what) {
  simdjson::dom::element doc;
  if (auto error = parser.parse(json.data(), json.size()).get(doc); error != simdjson::SUCCESS) {
    return failf(ErrorCode::Parse, "{} is not JSON: {}", what, simdjson::error_message(error));
  }
  return doc;
}

std::string stringAt(simdjson::dom::element element, std::string_view pointer) {
  std::string_view value;
  if (element.at_pointer(pointer).get_string().get(value) != simdjson::SUCCESS) return {};
  return std::string(value);
}

}  // namespace fim::core
