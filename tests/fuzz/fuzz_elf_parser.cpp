// libFuzzer target: file_parsers' ELF parser on arbitrary file contents (make fuzz).
#include "fuzz/fuzz_inputs.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)fim::fuzz::parseElfInput(std::span(data, size));
  return 0;
}
