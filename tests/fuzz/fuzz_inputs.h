#pragma once
// What the fuzz targets do with one input, shared with the unit test that replays the kept corpus
// (tests/watcher/test_elf_corpus.cpp) so that CI runs every input the fuzzer found interesting.

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "watcher/elf/elf_parser.h"
#include "watcher/elf/go_line_table.h"

namespace fim::fuzz {

// The input as the content of a file (an anonymous memory file: the parser reads a descriptor),
// parsed for every file.elf.* field. Returns whether the parser found an ELF file.
inline bool parseElfInput(std::span<const unsigned char> input) {
  const int fd = ::memfd_create("fuzz-elf", MFD_CLOEXEC);
  if (fd < 0) return false;
  std::size_t written = 0;
  while (written < input.size()) {
    const ssize_t n = ::write(fd, input.data() + written, input.size() - written);
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  }
  const auto parsed = watcher::parseElf(fd, watcher::ElfFields::all());
  ::close(fd);
  return parsed.info.has_value();
}

// The first 8 bytes are an address to look up, the next 8 the start of .text, the rest the table;
// a few addresses around the first are looked up too. Returns the number of files named.
inline int lookUpGoLineTableInput(std::span<const unsigned char> input) {
  if (input.size() < 16) return 0;
  std::uint64_t pc = 0, text = 0;
  std::memcpy(&pc, input.data(), 8);
  std::memcpy(&text, input.data() + 8, 8);
  const watcher::GoLineTable lines(input.subspan(16), text);
  int named = 0;
  for (std::uint64_t delta : {0ull, 1ull, 16ull, 4096ull}) named += !lines.fileOf(pc + delta).empty();
  named += !lines.fileOf(text).empty();
  return named;
}

}  // namespace fim::fuzz
