// Conditions (`when:` and `if:`): Beats' operators, checked and typed at load time.

#include <arpa/inet.h>

#include <re2/re2.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "config/decode.h"

namespace fim::config {
namespace {

const std::vector<std::string> kOperators{"equals", "contains", "regexp", "range", "has_fields",
                                          "network", "and", "or", "not"};
const std::vector<std::string> kRangeOperators{"gt", "gte", "lt", "lte"};

const char* const kConditionExample = "a condition such as `equals: {event.action: updated}`";

// A leaf of a field map: its dotted path and value. Dotted keys were already split into nested
// maps when the file was read, so `file.path: x` and `file: {path: x}` arrive the same way.
struct Leaf {
  std::string field;
  const Node* value;
  Origin origin;
};

void collectLeaves(const Node& node, const std::string& prefix, std::vector<Leaf>& out) {
  for (const auto& e : node.entries) {
    const std::string field = joinPath(prefix, e.key);
    if (e.value.isMap() && !e.value.entries.empty()) {
      collectLeaves(e.value, field, out);
    } else {
      out.push_back(Leaf{field, &e.value, e.keyOrigin});
    }
  }
}

// The map of fields an operator tests; false (after reporting) when it is not a non-empty map.
bool fieldMap(const Node& node, const std::string& path, std::string_view op, Diagnostics& diagnostics,
              std::vector<Leaf>& leaves) {
  if (!node.isMap() || node.entries.empty()) {
    diagnostics.error(node.origin, path,
                      fmt::format("{} expects a map of fields to values, such as `{}: {{file.path: /etc/passwd}}`, got {}",
                                  op, op, describeValue(node)));
    return false;
  }
  collectLeaves(node, "", leaves);
  return true;
}

bool scalarLeaf(const Leaf& leaf, const std::string& path, Diagnostics& diagnostics) {
  if (leaf.value->isScalar()) return true;
  diagnostics.error(leaf.origin, joinPath(path, leaf.field),
                    "expected a single value (a string, number or boolean), got " + leaf.value->kindName());
  return false;
}

bool decodeMatchTerms(const Node& node, const std::string& path, ConditionConfig& out, Diagnostics& diagnostics) {
  std::vector<Leaf> leaves;
  const std::string op = out.kind == ConditionKind::Equals     ? "equals"
                         : out.kind == ConditionKind::Contains ? "contains"
                                                               : "regexp";
  if (!fieldMap(node, path, op, diagnostics, leaves)) return false;
  bool ok = true;
  for (const auto& leaf : leaves) {
    if (!scalarLeaf(leaf, path, diagnostics)) {
      ok = false;
      continue;
    }
    if (out.kind == ConditionKind::Regexp) {
      RE2 re(leaf.value->scalar, RE2::Quiet);
      if (!re.ok()) {
        diagnostics.error(leaf.value->origin, joinPath(path, leaf.field),
                          fmt::format("invalid regular expression \"{}\": {}", leaf.value->scalar, re.error()));
        ok = false;
        continue;
      }
    }
    out.terms.push_back(ConditionTerm{leaf.field, leaf.value->scalar, leaf.value->quoted, {}, {}, {}, {}, {}, leaf.origin});
  }
  return ok;
}

std::optional<double> parseNumber(const std::string& text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

bool decodeRange(const Node& node, const std::string& path, ConditionConfig& out, Diagnostics& diagnostics) {
  std::vector<Leaf> leaves;
  if (!fieldMap(node, path, "range", diagnostics, leaves)) return false;
  bool ok = true;
  for (const auto& leaf : leaves) {
    const std::string where = joinPath(path, leaf.field);
    const std::size_t dot = leaf.field.rfind('.');
    const std::string op = dot == std::string::npos ? leaf.field : leaf.field.substr(dot + 1);
    const std::string field = dot == std::string::npos ? std::string() : leaf.field.substr(0, dot);
    if (std::find(kRangeOperators.begin(), kRangeOperators.end(), op) == kRangeOperators.end() || field.empty()) {
      std::string message = fmt::format("range needs bounds such as `range: {{file.size.gte: 1024}}`; \"{}\" is not one of gt, gte, lt, lte", op);
      if (const auto close = closestMatch(op, kRangeOperators); !close.empty() && !leaf.value->isMap()) {
        message += "; did you mean \"" + close + "\"?";
      }
      diagnostics.error(leaf.origin, where, message);
      ok = false;
      continue;
    }
    if (!scalarLeaf(leaf, path, diagnostics)) {
      ok = false;
      continue;
    }
    const auto number = parseNumber(leaf.value->scalar);
    if (!number) {  // a quoted number is fine: Beats parses strings here too
      diagnostics.error(leaf.value->origin, where, "expected a number, got " + describeValue(*leaf.value));
      ok = false;
      continue;
    }
    auto term = std::find_if(out.terms.begin(), out.terms.end(), [&](const ConditionTerm& t) { return t.field == field; });
    if (term == out.terms.end()) {
      out.terms.push_back(ConditionTerm{field, {}, false, {}, {}, {}, {}, {}, leaf.origin});
      term = out.terms.end() - 1;
    }
    (op == "gt" ? term->gt : op == "gte" ? term->gte : op == "lt" ? term->lt : term->lte) = *number;
  }
  return ok;
}

bool checkNetwork(const std::string& network, const Origin& origin, const std::string& where, Diagnostics& diagnostics) {
  const auto& named = namedNetworks();
  if (std::find(named.begin(), named.end(), network) != named.end()) return true;
  if (parseCidr(network)) return true;
  std::string message = fmt::format(
      "\"{}\" is neither a CIDR such as 192.0.2.0/24 or 2001:db8::/32 nor a named network ({})", network,
      fmt::join(named, ", "));
  if (const auto close = closestMatch(network, named); !close.empty()) message += "; did you mean \"" + close + "\"?";
  diagnostics.error(origin, where, message);
  return false;
}

bool decodeNetwork(const Node& node, const std::string& path, ConditionConfig& out, Diagnostics& diagnostics) {
  std::vector<Leaf> leaves;
  if (!fieldMap(node, path, "network", diagnostics, leaves)) return false;
  bool ok = true;
  for (const auto& leaf : leaves) {
    const std::string where = joinPath(path, leaf.field);
    ConditionTerm term{leaf.field, {}, false, {}, {}, {}, {}, {}, leaf.origin};
    if (leaf.value->isScalar()) {
      ok = checkNetwork(leaf.value->scalar, leaf.value->origin, where, diagnostics) && ok;
      term.networks.push_back(leaf.value->scalar);
    } else if (leaf.value->isSequence() && !leaf.value->items.empty()) {
      for (std::size_t i = 0; i < leaf.value->items.size(); ++i) {
        const Node& item = leaf.value->items[i];
        const std::string itemWhere = where + "." + std::to_string(i);
        if (!item.isScalar()) {
          diagnostics.error(item.origin, itemWhere, "expected a CIDR or a named network, got " + item.kindName());
          ok = false;
          continue;
        }
        ok = checkNetwork(item.scalar, item.origin, itemWhere, diagnostics) && ok;
        term.networks.push_back(item.scalar);
      }
    } else {
      diagnostics.error(leaf.origin, where, "expected a CIDR, a named network or a list of them, got " + describeValue(*leaf.value));
      ok = false;
    }
    out.terms.push_back(std::move(term));
  }
  return ok;
}

bool decodeHasFields(const Node& node, const std::string& path, ConditionConfig& out, Diagnostics& diagnostics) {
  if (node.isScalar()) {
    out.fields.push_back(node.scalar);
    return true;
  }
  if (!node.isSequence() || node.items.empty()) {
    diagnostics.error(node.origin, path, "has_fields expects a list of field names, such as `has_fields: [file.hash.sha256]`, got " + describeValue(node));
    return false;
  }
  for (std::size_t i = 0; i < node.items.size(); ++i) {
    if (!node.items[i].isScalar()) {
      diagnostics.error(node.items[i].origin, path + "." + std::to_string(i), "expected a field name, got " + node.items[i].kindName());
      return false;
    }
    out.fields.push_back(node.items[i].scalar);
  }
  return true;
}

bool decodeChildren(const Node& node, const std::string& path, std::string_view op, ConditionConfig& out,
                    Diagnostics& diagnostics) {
  if (out.kind == ConditionKind::Not) {
    auto child = decodeCondition(node, path, diagnostics);
    if (!child) return false;
    out.children.push_back(std::move(*child));
    return true;
  }
  if (!node.isSequence() || node.items.empty()) {
    diagnostics.error(node.origin, path, fmt::format("{} expects a list of conditions, such as `{}: [{{equals: {{event.action: created}}}}, {{equals: {{event.action: deleted}}}}]`, got {}",
                                                     op, op, describeValue(node)));
    return false;
  }
  bool ok = true;
  for (std::size_t i = 0; i < node.items.size(); ++i) {
    auto child = decodeCondition(node.items[i], path + "." + std::to_string(i), diagnostics);
    if (child) out.children.push_back(std::move(*child));
    ok = ok && child.has_value();
  }
  return ok;
}

}  // namespace

std::optional<ConditionConfig> decodeCondition(const Node& node, const std::string& path, Diagnostics& diagnostics) {
  if (!node.isMap() || node.entries.empty()) {
    diagnostics.error(node.origin, path, fmt::format("expected {}, got {}", kConditionExample, describeValue(node)));
    return std::nullopt;
  }
  if (node.entries.size() > 1) {
    std::vector<std::string> keys;
    for (const auto& e : node.entries) keys.push_back(e.key);
    diagnostics.error(node.origin, path,
                      fmt::format("a condition holds exactly one operator, got {} ({}); combine several with `and:` or `or:`",
                                  keys.size(), fmt::join(keys, ", ")));
    return std::nullopt;
  }
  const Entry& entry = node.entries.front();
  const std::string where = joinPath(path, entry.key);
  const auto known = std::find(kOperators.begin(), kOperators.end(), entry.key);
  if (known == kOperators.end()) {
    std::string message = fmt::format("unknown condition \"{}\"", entry.key);
    if (const auto close = closestMatch(entry.key, kOperators); !close.empty()) {
      message += "; did you mean \"" + close + "\"?";
    } else {
      message += fmt::format("; the conditions are: {}", fmt::join(kOperators, ", "));
    }
    diagnostics.error(entry.keyOrigin, where, message);
    return std::nullopt;
  }
  ConditionConfig out;
  out.kind = static_cast<ConditionKind>(known - kOperators.begin());
  out.origin = entry.keyOrigin;
  bool ok = false;
  switch (out.kind) {
    case ConditionKind::Equals:
    case ConditionKind::Contains:
    case ConditionKind::Regexp: ok = decodeMatchTerms(entry.value, where, out, diagnostics); break;
    case ConditionKind::Range: ok = decodeRange(entry.value, where, out, diagnostics); break;
    case ConditionKind::HasFields: ok = decodeHasFields(entry.value, where, out, diagnostics); break;
    case ConditionKind::Network: ok = decodeNetwork(entry.value, where, out, diagnostics); break;
    case ConditionKind::And:
    case ConditionKind::Or:
    case ConditionKind::Not: ok = decodeChildren(entry.value, where, entry.key, out, diagnostics); break;
  }
  if (!ok) return std::nullopt;
  return out;
}

const std::vector<std::string>& namedNetworks() {
  static const std::vector<std::string> kNames{
      "loopback",  "unicast",     "global_unicast", "multicast", "interface_local_multicast", "link_local_unicast",
      "link_local_multicast", "private", "public", "unspecified"};
  return kNames;
}

std::optional<std::array<std::uint8_t, 16>> parseIpAddress(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buffer[INET6_ADDRSTRLEN];
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  std::array<std::uint8_t, 16> address{};
  if (text.find(':') != std::string_view::npos) {
    if (::inet_pton(AF_INET6, buffer, address.data()) != 1) return std::nullopt;
    return address;
  }
  address[10] = address[11] = 0xff;  // ::ffff:a.b.c.d
  if (::inet_pton(AF_INET, buffer, address.data() + 12) != 1) return std::nullopt;
  return address;
}

std::optional<IpNetwork> parseCidr(std::string_view text) {
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto address = parseIpAddress(text.substr(0, slash));
  if (!address) return std::nullopt;
  const std::string_view bits = text.substr(slash + 1);
  int prefix = -1;
  auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
  if (ec != std::errc() || end != bits.data() + bits.size() || bits.empty()) return std::nullopt;
  const bool v4 = text.substr(0, slash).find(':') == std::string_view::npos;
  if (prefix < 0 || prefix > (v4 ? 32 : 128)) return std::nullopt;
  IpNetwork network{*address, v4 ? prefix + 96 : prefix, v4};
  for (int bit = network.prefixLength; bit < 128; ++bit) {  // clear the host bits, as Go does
    network.address[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  }
  return network;
}

}  // namespace fim::config
