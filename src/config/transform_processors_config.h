#pragma once
// Options of the processors that parse, convert and tag values (convert, decode_json_fields,
// dissect, extract_array, rate_limit, add_id, script), with Beats' names and defaults.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/node.h"
#include "config/units.h"

namespace fim::config {

struct ConvertConfig {
  enum class Type { Unset, Integer, Long, Float, Double, String, Boolean, Ip };
  struct Field {
    std::string from;
    std::string to;  // "": converted in place
    Type type = Type::Unset;
  };
  std::vector<Field> fields;
  std::string tag;  // names the processor in its error messages ("with instance_id=...")
  bool ignoreMissing = false;
  bool failOnError = true;
  bool renameMode = false;  // mode: rename (the source field is removed); default copy
};

struct DecodeJsonFieldsConfig {
  std::vector<std::string> fields;
  int maxDepth = 1;
  bool processArray = false;
  std::optional<std::string> target;  // absent (or null): each field in place; "": the document root
  bool overwriteKeys = false;
  bool addErrorKey = false;
  bool expandKeys = false;
  std::string documentId;  // a key of the decoded object moved to @metadata._id
};

struct DissectConfig {
  enum class Trim { None, Left, Right, All };
  std::string tokenizer;  // compiled (and checked) when the chain is built
  std::string field = "message";
  std::string targetPrefix = "dissect";
  bool ignoreFailure = false;
  bool overwriteKeys = false;
  Trim trimValues = Trim::None;
  std::string trimChars = " ";
};

struct ExtractArrayConfig {
  std::string field;
  std::vector<std::pair<std::string, std::size_t>> mappings;  // target field → array index, by index
  bool ignoreMissing = false;
  bool overwriteKeys = false;
  bool failOnError = true;
  bool omitEmpty = false;
};

struct RateLimitConfig {
  double perSecond = 0;        // limit "N/s|m|h", as tokens per second
  double depth = 0;            // the bucket's size: N × burst_multiplier
  std::vector<std::string> fields;  // sorted; each distinct combination of values has its own bucket
  std::uint64_t gcNumCalls = 10000;  // algorithm.token_bucket.gc.num_calls
};

struct AddIdConfig {
  std::string targetField = "@metadata._id";
  // type: elasticsearch (the only type Beats has): an id laid out as Elasticsearch's time-based ids.
};

struct ScriptConfig {
  // Where the code came from: one part per file, or "inline.js" for `source`.
  struct Part {
    std::string name;
    int firstLine = 1;  // of this part in `code`
    int lines = 0;
  };
  std::string tag;
  std::vector<std::string> files;  // `file`/`files` as written (globs, relative to path.config)
  Origin origin;                   // of the `file`/`files` key, for errors about the files
  std::string code;  // `source`, or the files read at load time (loadScriptFiles), concatenated in order
  std::vector<Part> parts;
  Node params;  // a map, or null
  Duration timeout{0};  // 0: none
  int maxCachedSessions = 4;
  std::string tagOnException = "_js_exception";
};

}  // namespace fim::config
