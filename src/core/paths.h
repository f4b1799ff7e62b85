#pragma once
// Prefix tests on absolute paths, by whole components, and the key a path is remembered by.

#include <cstdint>
#include <string_view>

#include <xxhash.h>

namespace fim::core {

// Whether `path` is `top` or lies below it: "/a" covers "/a/x", never "/ab"; "/" covers every
// absolute path.
inline bool isWithin(std::string_view path, std::string_view top) {
  if (!path.starts_with(top)) return false;
  return path.size() == top.size() || top == "/" || path[top.size()] == '/';
}

// The 64-bit key a scan's seen set holds for a path (8 bytes instead of the path). Kept in
// memory only, never stored: XXH3, about a fifth of std::hash's cost on a path.
inline std::uint64_t pathKey(std::string_view path) { return XXH3_64bits(path.data(), path.size()); }

}  // namespace fim::core
