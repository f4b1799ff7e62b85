#pragma once
// MapReader: reads typed options out of one map of the config tree, remembering which keys
// it knows, so that every unknown key is reported with a "did you mean" suggestion.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostics.h"
#include "config/node.h"
#include "config/units.h"

namespace fim::config {

class MapReader {
 public:
  // node may be null (an absent section) or not a map (reported as an error).
  MapReader(const Node* node, std::string path, Diagnostics& diagnostics);

  const std::string& path() const { return path_; }
  const Node* node() const { return node_; }
  bool has(std::string_view key) const;
  std::string keyPath(std::string_view key) const { return joinPath(path_, key); }

  // Marks key as known and returns its value, or null when absent.
  const Node* take(std::string_view key);

  // Each reader leaves `out` as it was when the key is absent or its value is invalid.
  void boolean(std::string_view key, bool& out);
  void string(std::string_view key, std::string& out);
  void integer(std::string_view key, std::int64_t& out, std::int64_t min, std::int64_t max);
  void integer(std::string_view key, int& out, int min, int max);
  void size(std::string_view key, std::uint64_t& out);
  void duration(std::string_view key, Duration& out);
  void fileMode(std::string_view key, unsigned& out);  // 0600, "0600", 384
  void strings(std::string_view key, std::vector<std::string>& out);  // a list, or one value
  void stringMap(std::string_view key, std::map<std::string, std::string>& out);
  void oneOf(std::string_view key, std::string& out, const std::vector<std::string>& allowed);

  // A known option that fimbeat does not act on yet: one warning for each leaf under it.
  void notImplemented(std::string_view key, std::string_view why);

  // Reports keys nobody took. Call once after reading every option.
  void finish();

  Diagnostics& diagnostics() { return diagnostics_; }

 private:
  const Node* scalarOf(std::string_view key);
  void invalid(const Node& value, std::string_view key, std::string message);

  const Node* node_;
  std::string path_;
  Diagnostics& diagnostics_;
  std::vector<std::string> known_;
};

// Warns once for every leaf under node ("setup.template.settings.index.number_of_shards").
void warnLeaves(const Node& node, const std::string& path, std::string_view why, Diagnostics& diagnostics);

std::string describeValue(const Node& node);

}  // namespace fim::config
