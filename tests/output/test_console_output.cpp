#include "output/console_output.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "support/encoded_events.h"

namespace fim::output {
namespace {

// An anonymous temporary stream, closed (and so deleted) at scope exit.
class TempStream {
 public:
  TempStream() : file_(std::tmpfile()) { REQUIRE(file_ != nullptr); }
  ~TempStream() { std::fclose(file_); }
  TempStream(const TempStream&) = delete;
  TempStream& operator=(const TempStream&) = delete;

  std::FILE* get() const { return file_; }

  std::string contents() const {
    REQUIRE(std::fflush(file_) == 0);
    std::rewind(file_);
    std::string out;
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, file_)) > 0;) out.append(buffer, n);
    return out;
  }

 private:
  std::FILE* file_;
};

config::ConsoleOutputConfig pretty(bool on) {
  config::ConsoleOutputConfig config;
  config.pretty = on;
  return config;
}

}  // namespace

TEST_CASE("console output writes compact documents one per line") {
  TempStream stream;
  ConsoleOutput output(pretty(false), stream.get());
  const std::vector<std::string> docs{R"({"a":1,"b":{"c":[1,2]}})", R"({"d":"x"})"};
  REQUIRE(output.write(testing::encoded(docs), {}).has_value());
  REQUIRE(output.write(std::vector<events::EncodedEvent>{}, {}).has_value());
  REQUIRE(output.flush().has_value());
  CHECK(stream.contents() == "{\"a\":1,\"b\":{\"c\":[1,2]}}\n{\"d\":\"x\"}\n");
  CHECK(output.describe() == "console output");
}

TEST_CASE("console output pretty-prints with 4-space indent") {
  TempStream stream;
  ConsoleOutput output(pretty(true), stream.get());
  const std::vector<std::string> docs{R"({"a":1,"b":{"c":[1,2]}})", R"({"d":"x"})"};
  REQUIRE(output.write(testing::encoded(docs), {}).has_value());
  REQUIRE(output.flush().has_value());
  CHECK(stream.contents() ==
        "{\n"
        "    \"a\": 1,\n"
        "    \"b\": {\n"
        "        \"c\": [\n"
        "            1,\n"
        "            2\n"
        "        ]\n"
        "    }\n"
        "}\n"
        "{\n"
        "    \"d\": \"x\"\n"
        "}\n");
  CHECK(output.describe() == "console output (pretty)");
}

TEST_CASE("console output pretty keeps values intact and writes unparsable documents raw") {
  TempStream stream;
  ConsoleOutput output(pretty(true), stream.get());
  const std::vector<std::string> docs{R"({"n":18446744073709551615,"f":0.1,"s":"é\n\"q\""})", "not json {"};
  REQUIRE(output.write(testing::encoded(docs), {}).has_value());
  CHECK(stream.contents() ==
        "{\n"
        "    \"n\": 18446744073709551615,\n"
        "    \"f\": 0.1,\n"
        "    \"s\": \"é\\n\\\"q\\\"\"\n"
        "}\n"
        "not json {\n");
}

TEST_CASE("console output turns stream errors into errors") {
  SUBCASE("writing to a read-only stream") {
    std::string path = (std::filesystem::temp_directory_path() / "fimbeat-console-test-XXXXXX").string();
    const int fd = ::mkstemp(path.data());
    REQUIRE(fd >= 0);
    ::close(fd);
    std::FILE* readOnly = std::fopen(path.c_str(), "r");
    REQUIRE(readOnly != nullptr);
    ConsoleOutput output(pretty(false), readOnly);
    auto status = output.write(testing::encoded({R"({"a":1})"}), {});
    std::fclose(readOnly);
    std::filesystem::remove(path);
    REQUIRE_FALSE(status.has_value());
    CHECK(std::string(core::toString(status.error().code())) == "io");
    CHECK(status.error().message().find("console output") != std::string::npos);
  }

  SUBCASE("flushing to a full device") {
    std::FILE* full = std::fopen("/dev/full", "w");
    REQUIRE(full != nullptr);
    ConsoleOutput output(pretty(false), full);
    REQUIRE(output.write(testing::encoded({R"({"a":1})"}), {}).has_value());  // still in stdio's buffer
    auto status = output.flush();
    std::fclose(full);
    REQUIRE_FALSE(status.has_value());
    CHECK(status.error().message().find("No space left on device") != std::string::npos);
    CHECK(status.error().retryable());
  }
}

}  // namespace fim::output
