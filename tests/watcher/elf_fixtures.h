#pragma once
// ELF files for the file_parsers tests, made at test time: a writer of small 64-bit ELF files
// (through libelf, as a linker would lay them out), Go line tables in the formats of Go 1.2,
// 1.16 and 1.20 (runtime/symtab.go's pcHeader and _func layouts), and Go-like binaries built
// from both. No Go toolchain is needed: the binaries carry what Auditbeat's Go analysis reads
// (the section names, the symbol table, .gopclntab, .note.go.buildid), not runnable code.

#include <cstdint>
#include <string>
#include <vector>

namespace fim::testing {

struct ElfSectionSpec {
  std::string name;
  std::uint32_t type = 1;  // SHT_PROGBITS
  std::uint64_t flags = 0;
  std::uint64_t address = 0;
  std::string data;
};

struct ElfSymbolSpec {
  std::string name;
  std::string section;  // "" for an undefined symbol
  std::uint64_t value = 0;
  unsigned char info = 0x12;  // STB_GLOBAL, STT_FUNC
};

// Writes an x86-64 executable with these sections, then .symtab/.strtab when `symbols` is not
// empty, then .shstrtab. Throws std::runtime_error when libelf fails.
void writeElf(const std::string& path, const std::vector<ElfSectionSpec>& sections, const std::vector<ElfSymbolSpec>& symbols);

enum class GoVersion { Go12, Go116, Go120 };

struct GoFunction {
  std::string name;
  std::uint64_t offset = 0;  // from the start of .text
  std::uint64_t size = 16;
  std::string file;  // its source file; "??" as garblers write it
};

// A .gopclntab describing `functions` (in address order) of a .text at `textStart`.
std::string goLineTable(GoVersion version, std::uint64_t textStart, const std::vector<GoFunction>& functions);

struct GoBinary {
  GoVersion version = GoVersion::Go120;
  std::vector<GoFunction> functions;  // each also a symbol in .text
  std::vector<ElfSymbolSpec> extraSymbols;
  bool buildId = true;  // .note.go.buildid
  bool symbolTable = true;
};

inline constexpr std::uint64_t kGoTextStart = 0x401000;

void writeGoBinary(const std::string& path, const GoBinary& binary);

}  // namespace fim::testing
