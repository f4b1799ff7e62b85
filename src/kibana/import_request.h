#pragma once
// The request of Kibana's saved objects import API: POST [/s/<space>]/api/saved_objects/_import,
// a multipart/form-data body with one part, "file", holding the objects as NDJSON.

#include <string>
#include <string_view>
#include <vector>

namespace fim::kibana {

struct MultipartBody {
  std::string contentType;  // multipart/form-data; boundary=...
  std::string body;
};

// The objects (one JSON line each) as the "file" part; the boundary never occurs in them.
MultipartBody importBody(const std::vector<std::string>& lines, std::string_view filename = "fimbeat.ndjson");

// "/api/saved_objects/_import?overwrite=true", under /s/<spaceId> when a space is configured.
std::string importPath(const std::string& spaceId, bool overwrite);

// "/s/<spaceId>" or "" for the default space.
std::string spacePrefix(const std::string& spaceId);

}  // namespace fim::kibana
