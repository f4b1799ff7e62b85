#include "mapper/json_text_writer.h"

#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/utf8.h"

namespace fim::mapper {

// Sixteen bytes at a time with SSE2 (part of every x86-64 CPU), then eight, then one.
bool isPlainAscii(std::string_view s) {
  std::size_t i = 0;
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i slash = _mm_set1_epi8('\\');
  const __m128i space = _mm_set1_epi8(0x20);
  for (; i + 16 <= s.size(); i += 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i));
    // As signed bytes, control characters and every byte >= 0x80 are below 0x20.
    const __m128i bad = _mm_or_si128(_mm_cmplt_epi8(x, space), _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, slash)));
    if (_mm_movemask_epi8(bad) != 0) return false;
  }
#endif
  constexpr std::uint64_t kOnes = 0x0101010101010101ull;
  constexpr std::uint64_t kHigh = 0x8080808080808080ull;
  for (; i + 8 <= s.size(); i += 8) {  // "Bit Twiddling Hacks": any byte < 0x20, == '"', == '\\' or >= 0x80
    std::uint64_t x;
    std::memcpy(&x, s.data() + i, 8);
    const std::uint64_t quote = x ^ (kOnes * '"');
    const std::uint64_t slash = x ^ (kOnes * '\\');
    const std::uint64_t hits = ((x - kOnes * 0x20) & ~x) | ((quote - kOnes) & ~quote) | ((slash - kOnes) & ~slash) | x;
    if ((hits & kHigh) != 0) return false;
  }
  for (; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') return false;
  }
  return true;
}

void JsonTextWriter::text(std::string_view s, bool isKey) {
  if (isPlainAscii(s)) {  // the common case: copied as it is, no escaping, no UTF-8 decoding
    plainString(s);
    return;
  }
  if (!core::isValidUtf8(s)) {
    repaired_ = core::toValidUtf8(s);
    s = repaired_;
  }
  const auto size = static_cast<rapidjson::SizeType>(s.size());
  if (isKey) Key(s.data(), size);
  else String(s.data(), size);
}

}  // namespace fim::mapper
