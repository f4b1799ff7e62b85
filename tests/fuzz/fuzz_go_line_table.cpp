// libFuzzer target: the Go line table reader (.gopclntab) on arbitrary tables (make fuzz).
#include "fuzz/fuzz_inputs.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)fim::fuzz::lookUpGoLineTableInput(std::span(data, size));
  return 0;
}
