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
