#include <doctest/doctest.h>

#include "config/units.h"

using namespace fim::config;
using namespace std::chrono_literals;

TEST_CASE("sizes accept plain bytes, binary and decimal units") {
  struct Case { const char* text; std::uint64_t bytes; };
  const Case cases[] = {
      {"1024", 1024},         {"50 MiB", 50ull << 20}, {"50MiB", 50ull << 20}, {"100 MiB", 100ull << 20},
      {"1GB", 1000000000ull}, {"1 GiB", 1ull << 30},   {"10kb", 10000},        {"10 KiB", 10240},
      {"1.5KiB", 1536},       {"2M", 2000000},         {"0", 0},               {" 7 B ", 7},
      {"1 TiB", 1ull << 40},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    auto parsed = parseSize(c.text);
    REQUIRE(parsed.has_value());
    CHECK(*parsed == c.bytes);
  }
}

TEST_CASE("bad sizes are errors that show the value and an example") {
  for (const char* text : {"", "MiB", "ten MB", "5 XB", "-1", "1..5 KB"}) {
    CAPTURE(text);
    auto parsed = parseSize(text);
    REQUIRE_FALSE(parsed.has_value());
    CHECK(parsed.error().message().find("invalid size \"" + std::string(text) + "\"") != std::string::npos);
    CHECK(parsed.error().message().find("50 MiB") != std::string::npos);
  }
}

TEST_CASE("durations follow Go's syntax, a bare number is seconds") {
  struct Case { const char* text; Duration value; };
  const Case cases[] = {
      {"1s", 1s},   {"5m", 5min},    {"12h", 12h},  {"1h30m", 90min}, {"300ms", 300ms},
      {"1.5h", 90min}, {"2", 2s},    {"250us", 250us}, {"10ns", 10ns}, {"0", 0s},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    auto parsed = parseDuration(c.text);
    REQUIRE(parsed.has_value());
    CHECK(*parsed == c.value);
  }
  for (const char* text : {"", "5 minutes", "1d", "s", "1h-5m"}) {
    CAPTURE(text);
    auto parsed = parseDuration(text);
    REQUIRE_FALSE(parsed.has_value());
    CHECK(parsed.error().message().find("invalid duration") != std::string::npos);
  }
}

TEST_CASE("sizes and durations format back to what a person writes") {
  CHECK(formatSize(50ull << 20) == "50 MiB");
  CHECK(formatSize(1000) == "1000");
  CHECK(formatDuration(90min) == "90m");
  CHECK(formatDuration(12h) == "12h");
  CHECK(formatDuration(1500ms) == "1500ms");
}
