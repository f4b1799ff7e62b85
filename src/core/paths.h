#pragma once
// Prefix tests on absolute paths, by whole components.

#include <string_view>

namespace fim::core {

// Whether `path` is `top` or lies below it: "/a" covers "/a/x", never "/ab"; "/" covers every
// absolute path.
inline bool isWithin(std::string_view path, std::string_view top) {
  if (!path.starts_with(top)) return false;
  return path.size() == top.size() || top == "/" || path[top.size()] == '/';
}

}  // namespace fim::core
