#pragma once
// The unified diff of two versions of a small text file (file_integrity.diff), made with
// libgit2's diff (git's xdiff) from two buffers: no repository, no temporary file.

#include <cstddef>
#include <string>
#include <string_view>

namespace fim::baseline {

class ContentDiffer {
 public:
  ContentDiffer();   // libgit2's own initialisation, counted by libgit2
  ~ContentDiffer();
  ContentDiffer(const ContentDiffer&) = delete;
  ContentDiffer& operator=(const ContentDiffer&) = delete;

  // "--- <path>\n+++ <path>\n" and the hunks (3 lines of context). Longer than `limit` bytes: cut
  // at the last whole line that fits, and a marker line says so. Empty when nothing differs.
  std::string diff(std::string_view before, std::string_view after, std::string_view path, std::size_t limit) const;
};

// The marker line that ends a cut diff.
std::string truncationMarker(std::size_t fullSize);

}  // namespace fim::baseline
