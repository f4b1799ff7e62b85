#pragma once
// Prefix tests on absolute paths, by whole components, and the key a path is remembered by.

#include <cstdint>
#include <functional>
#include <string_view>

namespace fim::core {

// Whether `path` is `top` or lies below it: "/a" covers "/a/x", never "/ab"; "/" covers every
// absolute path.
inline bool isWithin(std::string_view path, std::string_view top) {
  if (!path.starts_with(top)) return false;
  return path.size() == top.size() || top == "/" || path[top.size()] == '/';
}

// The 64-bit key a scan's seen set holds for a path (8 bytes instead of the path).
inline std::uint64_t pathKey(std::string_view path) { return std::hash<std::string_view>{}(path); }

}  // namespace fim::core
