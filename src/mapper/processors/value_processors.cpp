// copy_fields, urldecode, decode_base64_field, truncate_fields, replace, add_locale and
// fingerprint, with Beats' semantics: with fail_on_error a failing event is left as it was.

#include <openssl/evp.h>
#include <re2/re2.h>
#include <time.h>
#include <xxhash.h>

#include <array>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/base64.h"
#include "mapper/processors/field_path.h"
#include "mapper/processors/processor.h"

namespace fim::mapper::processors {
namespace {

using rapidjson::Value;

std::string_view textOf(const Value& v) { return {v.GetString(), v.GetStringLength()}; }
Value stringValue(std::string_view s, Allocator& a) { return Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), a); }

// Go's url.QueryUnescape: %XX and '+' as a space; nullopt for a malformed escape.
std::optional<std::string> urlDecode(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out += ' ';
    } else if (in[i] == '%') {
      if (i + 2 >= in.size() || !std::isxdigit(static_cast<unsigned char>(in[i + 1])) ||
          !std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
        return std::nullopt;
      }
      out += static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

// Runs `change` on a scratch copy when fail_on_error must leave a failing event untouched.
template <typename Change>
Outcome transactional(rapidjson::Document& document, bool failOnError, Change change) {
  if (!failOnError) return change(document) ? Outcome::Keep : Outcome::Failed;
  rapidjson::Document scratch(&document.GetAllocator());
  scratch.CopyFrom(document, document.GetAllocator());
  if (!change(scratch)) return Outcome::Failed;
  static_cast<Value&>(document) = std::move(static_cast<Value&>(scratch));
  return Outcome::Keep;
}

class FieldCopy final : public Processor {
 public:
  explicit FieldCopy(const config::FieldCopyConfig& config) : config_(config) {
    for (const auto& pair : config.fields) pairs_.emplace_back(FieldPath(pair.from), FieldPath(pair.to.empty() ? pair.from : pair.to));
  }

  Outcome run(rapidjson::Document& document) const override {
    return transactional(document, config_.failOnError, [&](rapidjson::Document& doc) {
      bool ok = true;
      for (const auto& [from, to] : pairs_) ok = one(doc, from, to) && ok;
      return ok;
    });
  }

 private:
  bool one(rapidjson::Document& doc, const FieldPath& from, const FieldPath& to) const {
    auto& a = doc.GetAllocator();
    const Value* source = findField(doc, from);
    if (!source) return config_.ignoreMissing;
    Value result;
    using Kind = config::FieldCopyConfig::Kind;
    if (config_.kind == Kind::Copy) {
      if (findField(doc, to)) return false;  // Beats: the target must not exist
      result.CopyFrom(*source, a);
    } else {
      if (!source->IsString()) return false;
      const auto decoded = config_.kind == Kind::UrlDecode ? urlDecode(textOf(*source)) : core::base64Decode(textOf(*source));
      if (!decoded) return false;
      result = stringValue(*decoded, a);
    }
    return putField(doc, to, result, a);
  }

  config::FieldCopyConfig config_;
  std::vector<std::pair<FieldPath, FieldPath>> pairs_;
};

// The longest prefix of `s` within `limit` bytes, or `limit` code points, that ends on a
// UTF-8 boundary.
std::size_t cutAt(std::string_view s, std::uint64_t maxBytes, std::uint64_t maxCharacters) {
  if (maxBytes > 0) {
    std::size_t end = std::min<std::size_t>(s.size(), maxBytes);
    while (end > 0 && end < s.size() && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
    return end;
  }
  std::uint64_t count = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && count++ == maxCharacters) return i;
  }
  return s.size();
}

class TruncateFields final : public Processor {
 public:
  explicit TruncateFields(const config::TruncateFieldsConfig& config) : config_(config) {
    for (const auto& f : config.fields) fields_.emplace_back(f);
  }

  Outcome run(rapidjson::Document& document) const override {
    return transactional(document, config_.failOnError, [&](rapidjson::Document& doc) {
      bool ok = true;
      for (const auto& field : fields_) {
        Value* v = findField(doc, field);
        if (!v) {
          ok = ok && config_.ignoreMissing;
          continue;
        }
        if (!v->IsString()) {
          ok = false;
          continue;
        }
        const std::size_t end = cutAt(textOf(*v), config_.maxBytes, config_.maxCharacters);
        if (end < v->GetStringLength()) *v = stringValue(textOf(*v).substr(0, end), doc.GetAllocator());
      }
      return ok;
    });
  }

 private:
  config::TruncateFieldsConfig config_;
  std::vector<FieldPath> fields_;
};

class Replace final : public Processor {
 public:
  explicit Replace(const config::ReplaceConfig& config) : config_(config) {
    for (const auto& rule : config.fields) rules_.push_back({FieldPath(rule.field), std::make_unique<RE2>(rule.pattern), rule.replacement});
  }

  Outcome run(rapidjson::Document& document) const override {
    return transactional(document, config_.failOnError, [&](rapidjson::Document& doc) {
      bool ok = true;
      for (const auto& rule : rules_) {
        Value* v = findField(doc, rule.field);
        if (!v || !v->IsString()) {
          ok = ok && !v && config_.ignoreMissing;
          continue;
        }
        std::string text(textOf(*v));
        RE2::GlobalReplace(&text, *rule.pattern, rule.replacement);
        *v = stringValue(text, doc.GetAllocator());
      }
      return ok;
    });
  }

 private:
  struct Rule {
    FieldPath field;
    std::unique_ptr<RE2> pattern;
    std::string replacement;
  };
  config::ReplaceConfig config_;
  std::vector<Rule> rules_;
};

// event.timezone: the host's UTC offset now ("+01:00"), or its abbreviation ("CET").
class AddLocale final : public Processor {
 public:
  explicit AddLocale(const config::AddLocaleConfig& config) : abbreviation_(config.abbreviation) {}

  Outcome run(rapidjson::Document& document) const override {
    const time_t now = ::time(nullptr);
    struct tm tm {};
    ::localtime_r(&now, &tm);
    std::string zone;
    if (abbreviation_) {
      zone = tm.tm_zone ? tm.tm_zone : "UTC";
    } else {
      const long offset = tm.tm_gmtoff;
      zone = fmt::format("{}{:02}:{:02}", offset < 0 ? '-' : '+', std::labs(offset) / 3600, (std::labs(offset) % 3600) / 60);
    }
    Value value = stringValue(zone, document.GetAllocator());
    return putField(document, kTarget, value, document.GetAllocator()) ? Outcome::Keep : Outcome::Failed;
  }

 private:
  inline static const FieldPath kTarget{"event.timezone"};
  bool abbreviation_;
};

std::string base32(std::string_view data) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  std::uint64_t buffer = 0;
  int bits = 0;
  for (const unsigned char c : data) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 5) out += kAlphabet[(buffer >> (bits -= 5)) & 31];
  }
  if (bits > 0) out += kAlphabet[(buffer << (5 - bits)) & 31];
  while (out.size() % 8 != 0) out += '=';
  return out;
}

// Go's %v of a scalar: strings as they are, numbers in their shortest form, booleans as words.
std::optional<std::string> scalarText(const Value& v) {
  if (v.IsString()) return std::string(textOf(v));
  if (v.IsBool()) return v.GetBool() ? "true" : "false";
  if (v.IsInt64()) return std::to_string(v.GetInt64());
  if (v.IsUint64()) return std::to_string(v.GetUint64());
  if (v.IsDouble()) return fmt::format("{}", v.GetDouble());
  if (v.IsNull()) return "<nil>";
  return std::nullopt;  // objects and arrays: Beats refuses them
}

class Fingerprint final : public Processor {
 public:
  explicit Fingerprint(const config::FingerprintConfig& config) : config_(config), target_(config.targetField) {
    for (const auto& f : config.fields) fields_.emplace_back(f);
  }

  Outcome run(rapidjson::Document& document) const override {
    std::string text;  // "|field|value|field|value|", the fields in name order
    for (const auto& field : fields_) {
      const Value* v = findField(document, field);
      if (!v) {
        if (config_.ignoreMissing) continue;
        return Outcome::Failed;
      }
      const auto value = scalarText(*v);
      if (!value) return Outcome::Failed;
      text += "|" + field.text() + "|" + *value;
    }
    text += "|";
    Value digest = stringValue(encode(hash(text)), document.GetAllocator());
    return putField(document, target_, digest, document.GetAllocator()) ? Outcome::Keep : Outcome::Failed;
  }

 private:
  std::string hash(const std::string& text) const {
    if (config_.method == "xxhash") {
      const XXH64_hash_t h = XXH64(text.data(), text.size(), 0);
      std::string out(8, '\0');
      for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((h >> (56 - 8 * i)) & 0xFF);
      return out;
    }
    const EVP_MD* md = config_.method == "md5"      ? EVP_md5()
                       : config_.method == "sha1"   ? EVP_sha1()
                       : config_.method == "sha384" ? EVP_sha384()
                       : config_.method == "sha512" ? EVP_sha512()
                                                    : EVP_sha256();
    std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
    unsigned int size = 0;
    EVP_Digest(text.data(), text.size(), out.data(), &size, md, nullptr);
    return std::string(reinterpret_cast<const char*>(out.data()), size);
  }

  std::string encode(const std::string& raw) const {
    if (config_.encoding == "base64") return core::base64(raw);
    if (config_.encoding == "base32") return base32(raw);
    std::string hex;
    for (const unsigned char c : raw) hex += fmt::format("{:02x}", c);
    return hex;
  }

  config::FingerprintConfig config_;
  FieldPath target_;
  std::vector<FieldPath> fields_;
};

}  // namespace

std::unique_ptr<Processor> makeFieldCopy(const config::FieldCopyConfig& config) { return std::make_unique<FieldCopy>(config); }
std::unique_ptr<Processor> makeTruncateFields(const config::TruncateFieldsConfig& config) {
  return std::make_unique<TruncateFields>(config);
}
std::unique_ptr<Processor> makeReplace(const config::ReplaceConfig& config) { return std::make_unique<Replace>(config); }
std::unique_ptr<Processor> makeAddLocale(const config::AddLocaleConfig& config) { return std::make_unique<AddLocale>(config); }
std::unique_ptr<Processor> makeFingerprint(const config::FingerprintConfig& config) {
  return std::make_unique<Fingerprint>(config);
}

}  // namespace fim::mapper::processors
