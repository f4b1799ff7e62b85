#pragma once
// sniffMimeType: the MIME type of a file's first bytes when they alone decide it, without
// libmagic (whose thousands of rules cost 0.15 to 0.9 ms per file). It knows the signatures of
// the common binary formats and names them as libmagic does; binary data with no signature it
// knows (it holds control characters no text has) is application/octet-stream, as libmagic says. Text, and the binary formats whose
// type libmagic reads from more than a signature (zip and its family, PE, Mach-O, ...), are left
// to libmagic: nullopt.

#include <optional>
#include <string_view>

namespace fim::watcher {

std::optional<std::string_view> sniffMimeType(std::string_view head);

}  // namespace fim::watcher
