#include "config/expand.h"

#include <cstdlib>

namespace fim::config {
namespace {

constexpr int kMaxDepth = 16;

// Index of the '}' closing the reference that starts at open ("${"), honouring nesting.
std::size_t closingBrace(std::string_view text, std::size_t open) {
  int depth = 0;
  for (std::size_t i = open; i < text.size(); ++i) {
    if (text.compare(i, 2, "${") == 0) {
      ++depth;
      ++i;
    } else if (text[i] == '}') {
      if (--depth == 0) return i;
    }
  }
  return std::string_view::npos;
}

core::Result<std::string> expandAt(std::string_view text, const Lookup& lookup, int depth) {
  if (depth > kMaxDepth) {
    return core::fail(core::ErrorCode::InvalidArgument, "references nest too deeply (a reference loop?)");
  }
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    if (text.compare(i, 3, "$${") == 0) {
      out += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      out += text[i++];
      continue;
    }
    const std::size_t close = closingBrace(text, i);
    if (close == std::string_view::npos) {
      return core::failf(core::ErrorCode::InvalidArgument, "unterminated reference in \"{}\"", std::string(text));
    }
    const std::string_view body = text.substr(i + 2, close - i - 2);
    const std::size_t colon = body.find(':');
    const std::string name(body.substr(0, colon));
    if (name.empty()) return core::fail(core::ErrorCode::InvalidArgument, "empty reference \"${}\"");
    if (auto value = lookup(name)) {
      auto expanded = expandAt(*value, lookup, depth + 1);
      if (!expanded) return expanded;
      out += *expanded;
    } else if (colon == std::string_view::npos) {
      return core::failf(core::ErrorCode::InvalidArgument,
                         "${{{}}} is not set: export the environment variable {} or give a default as ${{{}:value}}",
                         name, name, name);
    } else if (body.size() > colon + 1 && body[colon + 1] == '?') {
      return core::failf(core::ErrorCode::InvalidArgument, "${{{}}} is required: {}", name,
                         std::string(body.substr(colon + 2)));
    } else {
      auto fallback = expandAt(body.substr(colon + 1), lookup, depth + 1);
      if (!fallback) return fallback;
      out += *fallback;
    }
    i = close + 1;
  }
  return out;
}

// `fromKeystore` is set by the lookup when a keystore value was used: the scalar becomes secret.
void expandNode(Node& node, const std::string& keyPath, const Lookup& lookup, bool& fromKeystore,
                Diagnostics& diagnostics) {
  switch (node.kind) {
    case Node::Kind::Scalar:
      if (node.scalar.find('$') != std::string::npos) {
        fromKeystore = false;
        if (auto expanded = expandAt(node.scalar, lookup, 0)) {
          node.scalar = std::move(*expanded);
          node.secret = node.secret || fromKeystore;
        } else {
          diagnostics.error(node.origin, keyPath, expanded.error().message());
        }
      }
      break;
    case Node::Kind::Sequence:
      for (std::size_t i = 0; i < node.items.size(); ++i) {
        expandNode(node.items[i], keyPath + "." + std::to_string(i), lookup, fromKeystore, diagnostics);
      }
      break;
    case Node::Kind::Map:
      for (auto& e : node.entries) expandNode(e.value, joinPath(keyPath, e.key), lookup, fromKeystore, diagnostics);
      break;
    case Node::Kind::Null:
      break;
  }
}

// A keystore value is taken literally: every "${" in it is escaped as "$${".
std::string literal(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value.compare(i, 2, "${") == 0) out += '$';
    out += value[i];
  }
  return out;
}

}  // namespace

core::Result<std::string> expandValue(std::string_view text, const Lookup& lookup) {
  return expandAt(text, lookup, 0);
}

void expandTree(Node& root, const Lookup& keystore, const Lookup& environment, Diagnostics& diagnostics) {
  const Node snapshot = root;  // references see the values as written, then expand recursively
  bool fromKeystore = false;
  const Lookup lookup = [&](std::string_view name) -> std::optional<std::string> {
    if (const Node* ref = snapshot.find(name); ref && ref->isScalar()) return ref->scalar;
    if (keystore) {
      if (auto secret = keystore(name)) {
        fromKeystore = true;
        return literal(*secret);
      }
    }
    return environment(name);
  };
  expandNode(root, "", lookup, fromKeystore, diagnostics);
}

std::optional<std::string> processEnvironment(std::string_view name) {
  const char* value = std::getenv(std::string(name).c_str());
  if (!value) return std::nullopt;
  return std::string(value);
}

}  // namespace fim::config
