#include <doctest/doctest.h>

#include "core/base64.h"

using namespace fim;

TEST_CASE("base64 follows RFC 4648's test vectors") {
  // RFC 4648 section 10.
  CHECK(core::base64("") == "");
  CHECK(core::base64("f") == "Zg==");
  CHECK(core::base64("fo") == "Zm8=");
  CHECK(core::base64("foo") == "Zm9v");
  CHECK(core::base64("foob") == "Zm9vYg==");
  CHECK(core::base64("fooba") == "Zm9vYmE=");
  CHECK(core::base64("foobar") == "Zm9vYmFy");
  CHECK(core::base64(std::string("\0\xff", 2)) == "AP8=");
}

TEST_CASE("base64Url uses the URL-safe alphabet without padding") {
  CHECK(core::base64Url("\xfb\xff") == "-_8");
  CHECK(core::base64Url("foob") == "Zm9vYg");
  CHECK(core::base64Url("") == "");
}

TEST_CASE("fromBase64 reverses base64 and refuses what is not base64") {
  for (const char* text : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) CHECK(core::fromBase64(core::base64(text)) == text);
  const std::string binary("\0\xff\x10 zz", 5);
  CHECK(core::fromBase64(core::base64(binary)) == binary);
  CHECK_FALSE(core::fromBase64("Zg=").has_value());      // not a multiple of 4
  CHECK_FALSE(core::fromBase64("Z===").has_value());     // too much padding
  CHECK_FALSE(core::fromBase64("Zm9v\nYg==").has_value());
  CHECK_FALSE(core::fromBase64("Zm=v").has_value());     // padding inside
  CHECK_FALSE(core::fromBase64("Zm9-").has_value());     // URL-safe alphabet
}
