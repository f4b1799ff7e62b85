#pragma once
// UTF-8 validation and repair, so text from files, paths and peers can go into JSON safely.

#include <string>
#include <string_view>

namespace fim::core {

// True when `text` is well-formed UTF-8 (no overlongs, surrogates or code points above U+10FFFF).
[[nodiscard]] bool isValidUtf8(std::string_view text);

// Returns `text` unchanged when it is valid; otherwise replaces each maximal ill-formed subpart
// with U+FFFD, as the Unicode standard recommends (so "\xE2\x82" at the end becomes one U+FFFD).
[[nodiscard]] std::string toValidUtf8(std::string_view text);

}  // namespace fim::core
