#include "core/utf8.h"

#include <cstddef>

namespace fim::core {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

struct Step {
  std::size_t length;  // bytes of the sequence, or of the ill-formed subpart to replace
  bool valid;
};

// Decodes the sequence at text[pos] by the table of well-formed byte sequences (Unicode 3.9, D92).
Step step(std::string_view text, std::size_t pos) {
  const auto byteAt = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byteAt(pos);
  if (lead < 0x80) return {1, true};

  std::size_t trailing = 0;
  unsigned char low = 0x80;   // range of the first continuation byte; the rest are 80..BF
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    trailing = 1;
  } else if (lead == 0xE0) {
    trailing = 2, low = 0xA0;  // excludes overlongs
  } else if (lead == 0xED) {
    trailing = 2, high = 0x9F;  // excludes surrogates D800..DFFF
  } else if (lead >= 0xE1 && lead <= 0xEF) {
    trailing = 2;
  } else if (lead == 0xF0) {
    trailing = 3, low = 0x90;  // excludes overlongs
  } else if (lead >= 0xF1 && lead <= 0xF3) {
    trailing = 3;
  } else if (lead == 0xF4) {
    trailing = 3, high = 0x8F;  // excludes code points above U+10FFFF
  } else {
    return {1, false};  // continuation byte, C0/C1 or F5..FF: never a valid lead
  }

  for (std::size_t i = 1; i <= trailing; ++i) {
    if (pos + i >= text.size()) return {i, false};
    const unsigned char c = byteAt(pos + i);
    if (c < low || c > high) return {i, false};
    low = 0x80, high = 0xBF;
  }
  return {trailing + 1, true};
}

}  // namespace

bool isValidUtf8(std::string_view text) {
  for (std::size_t pos = 0; pos < text.size();) {
    const Step s = step(text, pos);
    if (!s.valid) return false;
    pos += s.length;
  }
  return true;
}

std::string toValidUtf8(std::string_view text) {
  if (isValidUtf8(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 8);
  for (std::size_t pos = 0; pos < text.size();) {
    const Step s = step(text, pos);
    if (s.valid) {
      out.append(text.substr(pos, s.length));
    } else {
      out.append(kReplacement);
    }
    pos += s.length;
  }
  return out;
}

}  // namespace fim::core
