// Tests for toValidUtf8/isValidUtf8: strict decoding, one U+FFFD per maximal ill-formed subpart.

#include <doctest/doctest.h>

#include <string>

#include "core/utf8.h"

using fim::core::isValidUtf8;
using fim::core::toValidUtf8;

namespace {
const std::string kFffd = "\xEF\xBF\xBD";
}

TEST_CASE("valid UTF-8 passes through unchanged") {
  const std::string text = "plain ascii, caf\xC3\xA9, \xE2\x82\xAC euro, \xF0\x9F\x98\x80 emoji, \xF4\x8F\xBF\xBF max";
  CHECK(isValidUtf8(text));
  CHECK(toValidUtf8(text) == text);
  CHECK(toValidUtf8("") == "");
  CHECK(toValidUtf8(std::string("nul\0inside", 10)) == std::string("nul\0inside", 10));
}

TEST_CASE("an invalid byte becomes U+FFFD") {
  CHECK_FALSE(isValidUtf8("a\xFF" "b"));
  CHECK(toValidUtf8("a\xFF" "b") == "a" + kFffd + "b");
  CHECK(toValidUtf8("\x80") == kFffd);                 // lone continuation byte
  CHECK(toValidUtf8("\xF5\x80\x80\x80") == kFffd + kFffd + kFffd + kFffd);  // above U+10FFFF lead
}

TEST_CASE("a truncated sequence becomes one U+FFFD") {
  CHECK_FALSE(isValidUtf8("\xE2\x82"));
  CHECK(toValidUtf8("x\xE2\x82") == "x" + kFffd);
  CHECK(toValidUtf8("x\xE2\x82y") == "x" + kFffd + "y");
  CHECK(toValidUtf8("\xF0\x9F\x98") == kFffd);
}

TEST_CASE("overlong encodings are rejected") {
  CHECK_FALSE(isValidUtf8("\xC0\xAF"));
  CHECK(toValidUtf8("\xC0\xAF") == kFffd + kFffd);           // overlong '/'
  CHECK(toValidUtf8("\xE0\x80\xAF") == kFffd + kFffd + kFffd);
  CHECK(toValidUtf8("\xF0\x80\x80\xAF") == kFffd + kFffd + kFffd + kFffd);
}

TEST_CASE("surrogates and code points above U+10FFFF are rejected") {
  CHECK_FALSE(isValidUtf8("\xED\xA0\x80"));  // U+D800
  CHECK(toValidUtf8("\xED\xA0\x80") == kFffd + kFffd + kFffd);
  CHECK(toValidUtf8("\xED\xBF\xBF") == kFffd + kFffd + kFffd);  // U+DFFF
  CHECK(isValidUtf8("\xED\x9F\xBF"));                           // U+D7FF is fine
  CHECK(toValidUtf8("\xF4\x90\x80\x80") == kFffd + kFffd + kFffd + kFffd);  // U+110000
}
