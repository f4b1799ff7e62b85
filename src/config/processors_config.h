#pragma once
// Processors and their `when` conditions, as written in auditbeat.yml, checked at load time.
// The enricher compiles these into a chain (enricher/processors/); nothing here runs per event.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/metadata_processors_config.h"
#include "config/node.h"
#include "config/transform_processors_config.h"

namespace fim::config {

enum class ConditionKind { Equals, Contains, Regexp, Range, HasFields, Network, And, Or, Not };

// One `field: value` test inside equals/contains/regexp/range/network. Every term of a condition
// must hold (Beats ANDs the fields of one operator).
struct ConditionTerm {
  std::string field;                  // dotted path: "file.path"
  std::string value;                  // equals, contains, regexp (RE2 pattern, checked to compile)
  bool quoted = false;                // equals: the value was quoted, so it is a string only
  std::optional<double> gt, gte, lt, lte;  // range: at least one is set
  std::vector<std::string> networks;  // network: CIDRs or named ranges, checked to parse
  Origin origin;
};

struct ConditionConfig {
  ConditionKind kind = ConditionKind::And;
  std::vector<ConditionTerm> terms;       // equals, contains, regexp, range, network
  std::vector<std::string> fields;        // has_fields
  std::vector<ConditionConfig> children;  // and, or (one or more), not (exactly one)
  Origin origin;
};

struct AddFieldsConfig {
  std::string target = "fields";  // "" puts the fields at the root of the document
  Node fields;                    // a map; nested maps become nested objects
};

struct AddTagsConfig {
  std::string target = "tags";
  std::vector<std::string> tags;
};

struct DropFieldsConfig {
  std::vector<std::string> fields;    // exact dotted names; @timestamp and type already removed
  std::vector<std::string> patterns;  // the RE2 patterns written as /pattern/, without the slashes
  bool ignoreMissing = false;
  bool cleanup = false;  // also remove the objects a removal leaves empty
};

struct IncludeFieldsConfig {
  std::vector<std::string> fields;  // plus @timestamp and type, always kept
};

struct RenameConfig {
  struct Pair {
    std::string from;
    std::string to;
  };
  std::vector<Pair> fields;
  bool ignoreMissing = false;
  bool failOnError = true;
};

struct DropEventConfig {};

// copy_fields, urldecode, decode_base64_field: from → to for each pair (to empty: in place).
struct FieldCopyConfig {
  enum class Kind { Copy, UrlDecode, Base64Decode };
  Kind kind = Kind::Copy;
  std::vector<RenameConfig::Pair> fields;
  bool ignoreMissing = false;
  bool failOnError = true;
};

struct TruncateFieldsConfig {
  std::vector<std::string> fields;
  std::uint64_t maxBytes = 0;       // one of the two is set
  std::uint64_t maxCharacters = 0;  // code points
  bool ignoreMissing = false;
  bool failOnError = true;
};

struct ReplaceConfig {
  struct Rule {
    std::string field;
    std::string pattern;      // RE2, checked to compile
    std::string replacement;  // Go's $1 / ${1} already turned into RE2's \1
  };
  std::vector<Rule> fields;
  bool ignoreMissing = false;
  bool failOnError = true;
};

struct AddLocaleConfig {
  bool abbreviation = false;  // format: abbreviation ("CET") instead of offset ("+01:00")
};

struct FingerprintConfig {
  std::vector<std::string> fields;  // sorted, as Beats hashes them
  std::string targetField = "fingerprint";
  std::string method = "sha256";  // md5, sha1, sha256, sha384, sha512, xxhash
  std::string encoding = "hex";   // hex, base32, base64
  bool ignoreMissing = false;
};

// add_host_metadata / add_cloud_metadata: their options configure the host and cloud enrichers
// (Config::hostMetadata / cloudMetadata); in the chain they do nothing.
struct MetadataConfig {};

struct ProcessorConfig;

// `- if: <condition> then: [...] else: [...]`
struct IfConfig {
  ConditionConfig condition;
  std::vector<ProcessorConfig> then;
  std::vector<ProcessorConfig> otherwise;  // `else`
};

struct ProcessorConfig {
  std::string name;  // "add_fields", ..., "if"
  std::optional<ConditionConfig> when;
  std::variant<AddFieldsConfig, AddTagsConfig, DropFieldsConfig, IncludeFieldsConfig, RenameConfig, DropEventConfig,
               MetadataConfig, IfConfig, FieldCopyConfig, TruncateFieldsConfig, ReplaceConfig, AddLocaleConfig,
               FingerprintConfig,
               // transform_processors_config.h
               ConvertConfig, DecodeJsonFieldsConfig, DissectConfig, ExtractArrayConfig, RateLimitConfig, AddIdConfig,
               ScriptConfig,
               // metadata_processors_config.h
               MetadataProcessorConfig>
      options;
  Origin origin;
};

// Fields no processor removes (Beats' mandatory exported fields).
inline const std::vector<std::string>& protectedFields() {
  static const std::vector<std::string> kFields{"@timestamp", "type"};
  return kFields;
}

// An IPv4 or IPv6 network. IPv4 is held as ::ffff:a.b.c.d with 96 added to its prefix length,
// so an IPv4 network also matches IPv4-mapped IPv6 addresses, while an IPv6 network never
// matches an IPv4 address (Go's net.IPNet, which Beats uses).
struct IpNetwork {
  std::array<std::uint8_t, 16> address{};
  int prefixLength = 0;
  bool v4 = false;
};

std::optional<std::array<std::uint8_t, 16>> parseIpAddress(std::string_view text);
std::optional<IpNetwork> parseCidr(std::string_view text);  // "192.0.2.0/24", "2001:db8::/32"

// The named ranges of the network condition (loopback, private, public, ...).
const std::vector<std::string>& namedNetworks();

}  // namespace fim::config
