#pragma once
// Node: a YAML tree that remembers where each value came from, with dotted keys expanded.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace YAML { class Node; }

namespace fim::config {

struct Origin {
  std::string source;  // the config file's name, or "-E"
  int line = 0;        // 1-based; 0 when unknown (overrides, defaults)

  std::string describe() const;  // "fimbeat.yml:12" or "-E"
};

struct Entry;

struct Node {
  enum class Kind { Null, Scalar, Sequence, Map };

  Kind kind = Kind::Null;
  std::string scalar;
  bool quoted = false;         // a scalar written in quotes or tagged !!str: a string, never a number or boolean
  bool secret = false;         // holds a value from the keystore: `export config` redacts it
  std::vector<Node> items;     // Sequence
  std::vector<Entry> entries;  // Map, in file order
  Origin origin;

  // Fails when aliases expand the tree beyond 100,000 values.
  static core::Result<Node> fromYaml(const YAML::Node& yaml, const std::string& source);
  static Node map(Origin origin);
  static Node scalarValue(std::string value, Origin origin);

  bool isNull() const { return kind == Kind::Null; }
  bool isMap() const { return kind == Kind::Map; }
  bool isSequence() const { return kind == Kind::Sequence; }
  bool isScalar() const { return kind == Kind::Scalar; }

  const Node* get(std::string_view key) const;       // direct child of a map
  const Node* find(std::string_view dottedPath) const;  // a.b.c
  const Entry* entry(std::string_view key) const;

  // Sets a dotted path, creating maps on the way; replaces what was there.
  void set(std::string_view dottedPath, Node value);
  // Merges a map's entries into this map, splitting dotted keys; maps merge, the rest is replaced.
  void mergeEntry(std::string_view dottedKey, Node value, Origin keyOrigin);

  YAML::Node toYaml() const;
  std::string kindName() const;

 private:
  static Node fromYaml(const YAML::Node& yaml, const std::string& source, std::size_t& budget);
};

struct Entry {
  std::string key;
  Node value;
  Origin keyOrigin;
};

}  // namespace fim::config
