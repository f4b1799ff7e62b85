#include "mapper/processors/condition.h"

#include <re2/re2.h>

#include <charconv>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "mapper/processors/field_path.h"
#include "mapper/processors/ip_match.h"

namespace fim::mapper::processors {
namespace {

using rapidjson::Value;

// Tests one value; arrays match when any element does (Beats does so for contains, regexp and
// network; fimbeat does it for equals too, since event.action and event.type are arrays).
template <typename Test>
bool anyElement(const Value& value, const Test& test) {
  if (!value.IsArray()) return test(value);
  for (const auto& element : value.GetArray()) {
    if (test(element)) return true;
  }
  return false;
}

std::string_view stringOf(const Value& value) { return {value.GetString(), value.GetStringLength()}; }

// equals: a quoted value matches strings only; an unquoted one also matches the number or
// boolean it spells (YAML typing, as in Beats), and the string with the same text.
class EqualsTerm {
 public:
  explicit EqualsTerm(const config::ConditionTerm& term) : path_(term.field), text_(term.value) {
    if (term.quoted) return;
    const char* begin = text_.data();
    const char* end = begin + text_.size();
    std::int64_t integer = 0;
    if (auto [at, ec] = std::from_chars(begin, end, integer); ec == std::errc() && at == end) integer_ = integer;
    double number = 0;
    if (auto [at, ec] = std::from_chars(begin, end, number); ec == std::errc() && at == end && !text_.empty()) {
      number_ = number;
    }
    if (text_ == "true" || text_ == "True" || text_ == "TRUE") boolean_ = true;
    if (text_ == "false" || text_ == "False" || text_ == "FALSE") boolean_ = false;
  }

  bool check(const Value& document) const {
    const Value* value = findField(document, path_);
    return value && anyElement(*value, [this](const Value& v) { return matches(v); });
  }

 private:
  bool matches(const Value& v) const {
    if (v.IsString()) return stringOf(v) == text_;
    if (v.IsBool()) return boolean_ && *boolean_ == v.GetBool();
    if (!v.IsNumber()) return false;
    if (integer_ && v.IsInt64()) return v.GetInt64() == *integer_;
    if (integer_ && v.IsUint64()) return *integer_ >= 0 && v.GetUint64() == static_cast<std::uint64_t>(*integer_);
    return number_ && v.GetDouble() == *number_;
  }

  FieldPath path_;
  std::string text_;
  std::optional<std::int64_t> integer_;
  std::optional<double> number_;
  std::optional<bool> boolean_;
};

class EqualsCondition final : public Condition {
 public:
  explicit EqualsCondition(const config::ConditionConfig& config) {
    for (const auto& term : config.terms) terms_.emplace_back(term);
  }
  bool check(const Value& document) const override {
    for (const auto& term : terms_) {
      if (!term.check(document)) return false;
    }
    return true;
  }

 private:
  std::vector<EqualsTerm> terms_;
};

// contains (substring) and regexp (RE2, unanchored): strings, or arrays with a matching string.
class MatchCondition final : public Condition {
 public:
  static core::Result<std::unique_ptr<Condition>> create(const config::ConditionConfig& config) {
    auto condition = std::unique_ptr<MatchCondition>(new MatchCondition());
    for (const auto& term : config.terms) {
      Term compiled{FieldPath(term.field), term.value, nullptr};
      if (config.kind == config::ConditionKind::Regexp) {
        compiled.regex = std::make_unique<RE2>(term.value, RE2::Quiet);
        if (!compiled.regex->ok()) {
          return core::failf(core::ErrorCode::InvalidArgument, "regexp {}: invalid regular expression \"{}\": {}",
                             term.field, term.value, compiled.regex->error());
        }
      }
      condition->terms_.push_back(std::move(compiled));
    }
    return std::unique_ptr<Condition>(std::move(condition));
  }

  bool check(const Value& document) const override {
    for (const auto& term : terms_) {
      const Value* value = findField(document, term.path);
      if (!value) return false;
      const bool matched = anyElement(*value, [&term](const Value& v) {
        if (!v.IsString()) return false;
        if (term.regex) return RE2::PartialMatch(re2::StringPiece(v.GetString(), v.GetStringLength()), *term.regex);
        return stringOf(v).find(term.text) != std::string_view::npos;
      });
      if (!matched) return false;
    }
    return true;
  }

 private:
  struct Term {
    FieldPath path;
    std::string text;
    std::unique_ptr<RE2> regex;  // null for contains
  };
  MatchCondition() = default;
  std::vector<Term> terms_;
};

// range: numeric fields only, as in Beats (a string, date or array never matches).
class RangeCondition final : public Condition {
 public:
  explicit RangeCondition(const config::ConditionConfig& config) {
    for (const auto& term : config.terms) terms_.push_back(Term{FieldPath(term.field), term.gt, term.gte, term.lt, term.lte});
  }
  bool check(const Value& document) const override {
    for (const auto& term : terms_) {
      const Value* value = findField(document, term.path);
      if (!value || !value->IsNumber()) return false;
      const double v = value->GetDouble();
      if ((term.gt && !(v > *term.gt)) || (term.gte && !(v >= *term.gte)) || (term.lt && !(v < *term.lt)) ||
          (term.lte && !(v <= *term.lte))) {
        return false;
      }
    }
    return true;
  }

 private:
  struct Term {
    FieldPath path;
    std::optional<double> gt, gte, lt, lte;
  };
  std::vector<Term> terms_;
};

class HasFieldsCondition final : public Condition {
 public:
  explicit HasFieldsCondition(const config::ConditionConfig& config) {
    for (const auto& field : config.fields) paths_.emplace_back(field);
  }
  bool check(const Value& document) const override {
    for (const auto& path : paths_) {
      if (!findField(document, path)) return false;
    }
    return true;
  }

 private:
  std::vector<FieldPath> paths_;
};

// network: an IP address string (or an array of them) inside any of the field's networks.
class NetworkCondition final : public Condition {
 public:
  static core::Result<std::unique_ptr<Condition>> create(const config::ConditionConfig& config) {
    auto condition = std::unique_ptr<NetworkCondition>(new NetworkCondition());
    for (const auto& term : config.terms) {
      Term compiled{FieldPath(term.field), {}};
      for (const auto& network : term.networks) {
        auto matcher = NetworkMatcher::parse(network);
        if (!matcher) return std::unexpected(matcher.error().context("network " + term.field));
        compiled.networks.push_back(*matcher);
      }
      condition->terms_.push_back(std::move(compiled));
    }
    return std::unique_ptr<Condition>(std::move(condition));
  }

  bool check(const Value& document) const override {
    for (const auto& term : terms_) {
      const Value* value = findField(document, term.path);
      if (!value) return false;
      const bool matched = anyElement(*value, [&term](const Value& v) {
        if (!v.IsString()) return false;
        const auto address = config::parseIpAddress(stringOf(v));
        if (!address) return false;
        for (const auto& network : term.networks) {
          if (network.contains(*address)) return true;
        }
        return false;
      });
      if (!matched) return false;
    }
    return true;
  }

 private:
  struct Term {
    FieldPath path;
    std::vector<NetworkMatcher> networks;
  };
  NetworkCondition() = default;
  std::vector<Term> terms_;
};

class LogicCondition final : public Condition {
 public:
  LogicCondition(config::ConditionKind kind, std::vector<std::unique_ptr<Condition>> children)
      : kind_(kind), children_(std::move(children)) {}

  bool check(const Value& document) const override {
    switch (kind_) {
      case config::ConditionKind::And:
        for (const auto& child : children_) {
          if (!child->check(document)) return false;
        }
        return true;
      case config::ConditionKind::Or:
        for (const auto& child : children_) {
          if (child->check(document)) return true;
        }
        return false;
      default:
        return !children_.front()->check(document);
    }
  }

 private:
  config::ConditionKind kind_;
  std::vector<std::unique_ptr<Condition>> children_;
};

}  // namespace

core::Result<std::unique_ptr<Condition>> compileCondition(const config::ConditionConfig& config) {
  using Kind = config::ConditionKind;
  switch (config.kind) {
    case Kind::Equals: return std::make_unique<EqualsCondition>(config);
    case Kind::Contains:
    case Kind::Regexp: return MatchCondition::create(config);
    case Kind::Range: return std::make_unique<RangeCondition>(config);
    case Kind::HasFields: return std::make_unique<HasFieldsCondition>(config);
    case Kind::Network: return NetworkCondition::create(config);
    case Kind::And:
    case Kind::Or:
    case Kind::Not: {
      if (config.children.empty()) return core::fail(core::ErrorCode::InvalidArgument, "and/or/not without a condition");
      if (config.kind == Kind::Not && config.children.size() != 1) {
        return core::fail(core::ErrorCode::InvalidArgument, "not takes exactly one condition");
      }
      std::vector<std::unique_ptr<Condition>> children;
      for (const auto& child : config.children) {
        auto compiled = compileCondition(child);
        if (!compiled) return std::unexpected(compiled.error());
        children.push_back(std::move(*compiled));
      }
      return std::make_unique<LogicCondition>(config.kind, std::move(children));
    }
  }
  return core::fail(core::ErrorCode::Internal, "unknown condition kind");
}

}  // namespace fim::mapper::processors
