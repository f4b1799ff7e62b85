#pragma once
// Small files only the agent may read (the keystore, meta.json): never through a symlink, written
// whole or not at all (a temporary file, fsync, rename), with the mode given whatever the umask.

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace fim::core {

// The file's bytes; nullopt when it does not exist. A symlink, a file that is not regular or one
// larger than maxBytes is an error.
[[nodiscard]] Result<std::optional<std::string>> readPrivateFile(const std::string& path, std::size_t maxBytes);

// Replaces `path` with `data` atomically: <path>.tmp (O_EXCL, O_NOFOLLOW, `mode`), fsync, rename, then
// fsync of the directory.
[[nodiscard]] Status writePrivateFile(const std::string& path, std::string_view data, mode_t mode);

// Creates `dir` and its missing parents with `mode` (an existing directory keeps its own).
[[nodiscard]] Status ensureDirectory(const std::string& dir, mode_t mode);

}  // namespace fim::core
