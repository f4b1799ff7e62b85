#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "fuzz/fuzz_inputs.h"

using namespace fim;

namespace {

std::vector<std::filesystem::path> corpus(const std::string& name) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(FIM_SOURCE_DIR) + "/tests/fuzz/corpus/" + name)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string bytesOf(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::span<const unsigned char> span(const std::string& s) {
  return {reinterpret_cast<const unsigned char*>(s.data()), s.size()};
}

}  // namespace

// The fuzzer's kept corpus (make fuzz), replayed by every build: inputs that once found new
// paths through the parser, malformed files among them, parse without crashing (and, under the
// sanitizers of make fuzz, without reading out of bounds).
TEST_CASE("file_parsers: every ELF input of the fuzz corpus parses without crashing") {
  const auto files = corpus("elf_parser");
  REQUIRE(files.size() >= 10);
  std::size_t elf = 0;
  for (const auto& path : files) {
    CAPTURE(path.filename().string());
    elf += fuzz::parseElfInput(span(bytesOf(path)));
  }
  CHECK(elf > 0);  // some inputs still parse as ELF files
}

TEST_CASE("file_parsers: every Go line table input of the fuzz corpus is read without crashing") {
  const auto files = corpus("go_line_table");
  REQUIRE(files.size() >= 5);
  int named = 0;
  for (const auto& path : files) {
    CAPTURE(path.filename().string());
    named += fuzz::lookUpGoLineTableInput(span(bytesOf(path)));
  }
  CHECK(named > 0);  // the seeds, at least, name files
}
