#include "kibana/saved_object.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <simdjson.h>

namespace fim::kibana {
namespace {

namespace fs = std::filesystem;

std::string replaceAll(std::string text, const std::map<std::string, std::string>& replacements) {
  for (const auto& [needle, replacement] : replacements) {
    if (needle.empty()) continue;
    for (std::size_t at = 0; (at = text.find(needle, at)) != std::string::npos; at += replacement.size()) {
      text.replace(at, needle.size(), replacement);
    }
  }
  return text;
}

core::Result<std::string> readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected(core::errnoError("cannot read " + path, errno));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string stringField(simdjson::dom::element element, const char* key) {
  std::string_view value;
  return element[key].get_string().get(value) ? std::string() : std::string(value);
}

// An id becomes a file name: it must not leave the type's folder.
bool safeId(const std::string& id) { return !id.empty() && id.find('/') == std::string::npos && id != "." && id != ".."; }

class Collector {
 public:
  Collector(std::string directory, const Selection& selection) : directory_(std::move(directory)), selection_(selection) {}

  core::Status add(const std::string& path) {
    auto object = readObjectFile(path, selection_.replacements);
    if (!object) return std::unexpected(object.error());
    return visit(std::move(*object));
  }

  std::vector<ObjectFile> take() { return std::move(ordered_); }

 private:
  core::Status visit(ObjectFile object) {
    const std::string key = object.type + "/" + object.id;
    if (!seen_.insert(key).second) return {};
    for (const auto& ref : object.references) {
      if (seen_.contains(ref.type + "/" + ref.id)) continue;  // itself, or an object on the way here
      if (ref.type == "index-pattern" && !selection_.dataViews) continue;
      auto status = follow(object, ref);
      if (!status) return status;
    }
    if (object.type != "index-pattern" || selection_.dataViews) ordered_.push_back(std::move(object));
    return {};
  }

  core::Status follow(const ObjectFile& from, const Reference& ref) {
    const std::string path = directory_ + "/" + ref.type + "/" + ref.id + ".json";
    if (!safeId(ref.id) || !safeId(ref.type)) {
      return core::failf(core::ErrorCode::InvalidArgument, "{} references {} \"{}\", which cannot be a file name", from.path, ref.type, ref.id);
    }
    if (!fs::exists(path)) {
      if (ref.type == "index-pattern") return {};  // may exist in Kibana already, as Beats assumes
      return core::failf(core::ErrorCode::NotFound, "{} references {} {}, but {} does not exist", from.path, ref.type, ref.id, path);
    }
    auto object = readObjectFile(path, selection_.replacements);
    if (!object) return std::unexpected(object.error());
    if (object->type != ref.type || object->id != ref.id) {
      return core::failf(core::ErrorCode::InvalidArgument, "{} holds {} {}, not the {} {} its name says", path, object->type, object->id, ref.type, ref.id);
    }
    return visit(std::move(*object));
  }

  std::string directory_;
  const Selection& selection_;
  std::set<std::string> seen_;
  std::vector<ObjectFile> ordered_;
};

std::vector<std::string> jsonFiles(const std::string& folder) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    if (entry.path().extension() == ".json" && entry.is_regular_file()) files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

core::Result<ObjectFile> readObjectFile(const std::string& path, const std::map<std::string, std::string>& replacements) {
  auto text = readText(path);
  if (!text) return std::unexpected(text.error());
  ObjectFile object{path, "", "", "", {}, replaceAll(std::move(*text), replacements)};
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto error = parser.parse(object.text).get(root)) {
    return core::failf(core::ErrorCode::Parse, "{}: not valid JSON: {}", path, simdjson::error_message(error));
  }
  object.type = stringField(root, "type");
  object.id = stringField(root, "id");
  if (object.type.empty() || object.id.empty() || !root["attributes"].is_object()) {
    return core::failf(core::ErrorCode::InvalidArgument, "{}: a saved object needs \"type\", \"id\" and \"attributes\"", path);
  }
  object.title = stringField(root["attributes"], "title");
  simdjson::dom::array references;
  if (!root["references"].get_array().get(references)) {
    for (auto ref : references) object.references.push_back({stringField(ref, "type"), stringField(ref, "id")});
  }
  return object;
}

core::Result<std::vector<ObjectFile>> collectObjects(const std::string& directory, const Selection& selection) {
  std::vector<std::string> roots;
  if (!selection.dashboardId.empty()) {
    roots.push_back(directory + "/dashboard/" + selection.dashboardId + ".json");
    if (!safeId(selection.dashboardId) || !fs::exists(roots.front())) {
      return core::failf(core::ErrorCode::NotFound, "no dashboard \"{}\" in {} (expected {})", selection.dashboardId, directory, roots.front());
    }
  } else {
    roots = jsonFiles(directory + (selection.dashboards ? "/dashboard" : "/index-pattern"));
    if (roots.empty()) {
      return core::failf(core::ErrorCode::NotFound, "no saved objects in {}/{} (setup.dashboards.directory)", directory,
                         selection.dashboards ? "dashboard" : "index-pattern");
    }
  }
  Collector collector(directory, selection);
  for (const auto& path : roots) {
    if (auto status = collector.add(path); !status) return std::unexpected(status.error());
  }
  return collector.take();
}

}  // namespace fim::kibana
