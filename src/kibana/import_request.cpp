#include "kibana/import_request.h"

#include <fmt/format.h>

namespace fim::kibana {

std::string spacePrefix(const std::string& spaceId) {
  return spaceId.empty() || spaceId == "default" ? std::string() : "/s/" + spaceId;
}

std::string importPath(const std::string& spaceId, bool overwrite) {
  return spacePrefix(spaceId) + "/api/saved_objects/_import" + (overwrite ? "?overwrite=true" : "");
}

MultipartBody importBody(const std::vector<std::string>& lines, std::string_view filename) {
  std::string ndjson;
  for (const auto& line : lines) ndjson += line + "\n";
  std::string boundary;
  for (unsigned n = 0; boundary.empty() || ndjson.find(boundary) != std::string::npos; ++n) {
    boundary = fmt::format("fimbeat-saved-objects-{:08x}", n * 2654435761u);
  }
  MultipartBody out;
  out.contentType = "multipart/form-data; boundary=" + boundary;
  out.body = fmt::format(
      "--{0}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{1}\"\r\nContent-Type: application/ndjson\r\n\r\n"
      "{2}\r\n--{0}--\r\n",
      boundary, filename, ndjson);
  return out;
}

}  // namespace fim::kibana
