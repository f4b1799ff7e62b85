#pragma once
// Dissector: the dissect tokenizer of Beats (libbeat/processors/dissect), compiled once from a
// pattern such as "%{key1} - %{+key1/2} %{?skip} %{&skip} %{key2->} %{n|integer} %{f#4}":
//   %{}            skip                  %{?key} / %{*key}  a reference, not saved
//   %{&key}        the value is saved under the name the reference `key` captured
//   %{+key[/N]}    appended to key (joined by the delimiter before it), in ordinal order
//   %{key->}       right padding: repeated delimiters after it are skipped
//   %{key#N}       exactly N bytes          %{key|type}  converted (integer, long, float, double,
//                                                        boolean, ip, string)
// The first delimiter must match at the start of the text; the last key takes the rest.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <rapidjson/document.h>

#include "core/result.h"

namespace fim::mapper::processors {

class Dissector {
 public:
  enum class Trim { None, Left, Right, All };

  // Fails with Beats' reasons: no key at all ("invalid dissect tokenizer"), mixed prefixes, an
  // indirect key without its reference, a right-padded key with no delimiter after it.
  [[nodiscard]] static core::Result<Dissector> compile(std::string_view tokenizer, Trim trim = Trim::None,
                                                       std::string trimChars = " ");

  // The keys and values of `text` in key order (strings, or typed values for %{key|type});
  // nullopt and `error` set when the text does not match.
  using Fields = std::vector<std::pair<std::string, rapidjson::Value>>;
  std::optional<Fields> dissect(std::string_view text, rapidjson::Document::AllocatorType& allocator,
                                std::string* error = nullptr) const;

  const std::string& pattern() const { return pattern_; }

 private:
  enum class Kind { Normal, Skip, NamedSkip, Pointer, Indirect, Append };
  struct Field {
    std::size_t id = 0;  // position in the pattern
    Kind kind = Kind::Normal;
    std::string key;
    int ordinal = 0;
    std::size_t length = 0;  // fixed length; 0 = up to the next delimiter
    bool greedy = false;
    std::string type;  // %{key|type}
    std::string joiner = " ";  // append: the delimiter before it, or a space
    bool saved() const { return kind == Kind::Normal || kind == Kind::Indirect || kind == Kind::Append; }
  };
  struct Delimiter {
    std::string needle;
    bool greedy = false;
  };
  struct Span {
    std::size_t start = 0;
    std::size_t end = 0;
  };

  bool extract(std::string_view text, std::vector<Span>& spans, std::string* error) const;
  Span trimmed(std::string_view text, Span span) const;

  std::string pattern_;
  std::vector<Delimiter> delimiters_;
  std::vector<Field> fields_;           // in ordinal order (stable), as they are applied
  std::vector<std::size_t> byPosition_;  // pattern position → index in fields_
  bool converts_ = false;               // some field has a type
  Trim trim_ = Trim::None;
  std::string trimChars_;
};

}  // namespace fim::mapper::processors
