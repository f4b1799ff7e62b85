#pragma once
// DocumentEncoder: writes a document as JSON by walking it against the schema. Every leaf is
// coerced to its declared type (see coerce.h); a field the schema does not declare (a processor
// added it) is written as it is, for Elasticsearch's dynamic mapping, and counted
// (mapper.fields.undeclared) with one message per distinct name for the encoder's life, unless
// Elasticsearch would refuse its name (dropped, mapper.fields.dropped); a value that cannot be
// coerced is dropped and counted (mapper.fields.invalid), also warned once per name. Nulls are dropped unless keep_null is set. Under an `object` field every
// key is accepted and leaves are coerced to its object_type; a `flattened` field keeps its whole
// subtree. Objects and arrays left with nothing to write are omitted; strings that are not valid
// UTF-8 get U+FFFD. `@timestamp` is always written first. Not thread-safe: one per mapper thread.

#include <cstring>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/metrics.h"
#include "mapper/coerce.h"
#include "mapper/schema.h"

namespace fim::mapper {

class DocumentEncoder {
 public:
  DocumentEncoder(const Schema& schema, core::Metrics& metrics);

  // The JSON of `document` (which must be an object) in `out`, replacing its contents; false
  // (and nothing written) when it is not an object.
  bool encode(const rapidjson::Value& document, bool keepNull, rapidjson::StringBuffer& out);

 private:
  // A container is opened in the output only once something is written into it, so objects
  // and arrays whose every value was dropped leave no trace (the Writer cannot take bytes back).
  enum class Key { None, Plain, Text };  // array element; a schema name; any text (escaped as needed)
  struct Pending {
    std::string_view key;
    Key hasKey;
    bool isArray;
  };

  void member(const rapidjson::Value::Member& m, const SchemaNode& group);
  void value(const rapidjson::Value& v, const SchemaNode& node, FieldType leafType, std::string_view key, Key hasKey);
  void scalar(const rapidjson::Value& v, std::string_view key, Key hasKey);
  void open(std::string_view key, Key hasKey, bool isArray);
  void close();
  void flush();
  void keyOf(std::string_view key, Key hasKey);
  void writeKey(std::string_view key, Key kind);
  // Any bytes as a key or a string value: invalid UTF-8 is repaired (U+FFFD) so the JSON stays valid.
  void string(std::string_view s, bool isKey);
  void undeclared(const rapidjson::Value::Member& m, const SchemaNode& parent);
  void freeForm(const rapidjson::Value& v, std::string_view key, Key hasKey);
  void invalid(const SchemaNode& node);

  const Schema& schema_;
  core::Counter& undeclared_;
  core::Counter& dropped_;
  core::Counter& invalid_;
  rapidjson::Writer<rapidjson::StringBuffer> writer_;
  std::string repaired_;  // reused for text that is not valid UTF-8
  bool keepNull_ = false;
  Coerced scratch_;
  std::vector<Pending> pending_;
  std::size_t opened_ = 0;  // how many of pending_ are written out
  std::string name_;
  std::set<std::string, std::less<>> warnedUndeclared_;
  std::set<std::string, std::less<>> warnedInvalid_;
};

}  // namespace fim::mapper
