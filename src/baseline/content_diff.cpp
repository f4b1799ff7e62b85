#include "baseline/content_diff.h"

#include <git2.h>

#include <fmt/format.h>

namespace fim::baseline {
namespace {

struct Collected {
  std::string text;
};

int addLine(const git_diff_delta*, const git_diff_hunk*, const git_diff_line* line, void* payload) {
  auto& out = static_cast<Collected*>(payload)->text;
  switch (line->origin) {
    case GIT_DIFF_LINE_FILE_HDR: return 0;  // git's own header (diff --git, index): ours is written first
    case GIT_DIFF_LINE_HUNK_HDR: {  // "@@ -a,b +c,d @@" without git's guess of an enclosing function
      const std::string_view header(line->content, line->content_len);
      const auto end = header.find("@@", 2);
      out.append(header.substr(0, end == std::string_view::npos ? header.size() : end + 2));
      out.push_back('\n');
      return 0;
    }
    case GIT_DIFF_LINE_CONTEXT:
    case GIT_DIFF_LINE_ADDITION:
    case GIT_DIFF_LINE_DELETION: out.push_back(line->origin); break;
    case GIT_DIFF_LINE_CONTEXT_EOFNL:
    case GIT_DIFF_LINE_ADD_EOFNL:
    case GIT_DIFF_LINE_DEL_EOFNL: return 0;  // "\ No newline at end of file": every line ends with one here
    default: return 0;
  }
  out.append(line->content, line->content_len);
  if (line->content_len == 0 || line->content[line->content_len - 1] != '\n') out.push_back('\n');
  return 0;
}

}  // namespace

ContentDiffer::ContentDiffer() { git_libgit2_init(); }
ContentDiffer::~ContentDiffer() { git_libgit2_shutdown(); }

std::string truncationMarker(std::size_t fullSize) {
  return fmt::format("[diff truncated: {} bytes in all]\n", fullSize);
}

std::string ContentDiffer::diff(std::string_view before, std::string_view after, std::string_view path,
                                std::size_t limit) const {
  if (before == after) return {};
  git_diff_options options = GIT_DIFF_OPTIONS_INIT;
  options.context_lines = 3;
  options.flags = GIT_DIFF_FORCE_TEXT;  // binary files never get here: what does is text
  git_patch* patch = nullptr;
  const std::string name(path);
  if (git_patch_from_buffers(&patch, before.data(), before.size(), name.c_str(), after.data(), after.size(),
                             name.c_str(), &options) != 0) {
    const git_error* error = git_error_last();
    return fmt::format("[no diff: {}]\n", error && error->message ? error->message : "libgit2 failed");
  }
  Collected collected;
  collected.text = fmt::format("--- {}\n+++ {}\n", path, path);
  git_patch_print(patch, addLine, &collected);
  git_patch_free(patch);
  std::string& text = collected.text;
  if (limit == 0 || text.size() <= limit) return std::move(text);
  const std::size_t full = text.size();
  const std::string marker = truncationMarker(full);
  const std::size_t room = limit > marker.size() ? limit - marker.size() : 0;
  const std::size_t cut = room == 0 ? std::string::npos : text.rfind('\n', room - 1);
  text.resize(cut == std::string::npos ? 0 : cut + 1);
  text += marker;
  return std::move(text);
}

}  // namespace fim::baseline
