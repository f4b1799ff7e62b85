#pragma once
// The saved objects fimbeat ships (kibana/<type>/<id>.json, one object a file, the attributes
// Kibana stores as JSON strings kept readable as objects) and the set one import sends.

#include <map>
#include <string>
#include <vector>

#include "core/result.h"

namespace fim::kibana {

struct Reference {
  std::string type;
  std::string id;
};

struct ObjectFile {
  std::string path;  // where it was read from
  std::string type;
  std::string id;
  std::string title;  // attributes.title, for messages
  std::vector<Reference> references;
  std::string text;  // the file's JSON after the string replacements
};

// Reads one object; every needle of `replacements` is replaced in the text before it is parsed
// (setup.dashboards.string_replacements).
[[nodiscard]] core::Result<ObjectFile> readObjectFile(const std::string& path,
                                                      const std::map<std::string, std::string>& replacements);

struct Selection {
  bool dashboards = true;  // false: setup.dashboards.only_index
  bool dataViews = true;   // false: setup.dashboards.only_dashboards
  std::string dashboardId;  // one dashboard (`export dashboard --id`); empty: every dashboard
  std::map<std::string, std::string> replacements;
};

// The objects of one import, each after the objects it references: the dashboards under
// <directory>/dashboard and, depth first, every object they reference from
// <directory>/<type>/<id>.json. An object already in the set (itself, or a dashboard that links
// back) is not read again. A data view that has no file is left to Kibana (it may exist there);
// any other missing object is an error.
[[nodiscard]] core::Result<std::vector<ObjectFile>> collectObjects(const std::string& directory, const Selection& selection);

}  // namespace fim::kibana
