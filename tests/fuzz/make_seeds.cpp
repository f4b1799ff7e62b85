// Writes the seed inputs of the fuzz targets (make fuzz) into <dir>/elf_parser and
// <dir>/go_line_table: Go-like binaries of each line table format with their garbled, unsigned
// and stripped variants, an ELF file with a zlib-compressed section, a small C program when a
// C compiler is there, and the line tables alone (as [address][.text start][table]).
#include <elf.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "watcher/elf_fixtures.h"

using namespace fim::testing;

namespace {

std::string le64(std::uint64_t v) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return out;
}

std::vector<GoFunction> program(const std::string& file) {
  return {{"runtime.schedule", 0, 0x40, "/usr/lib/go/src/runtime/proc.go"},
          {"main.main", 0x40, 0x20, file},
          {"github.com/acme/tool.Run", 0x60, 0x20, "/src/tool/run.go"}};
}

// A section compressed as `ld --compress-debug-sections=zlib` writes it: Elf64_Chdr, then zlib.
std::string compressedSection(const std::string& plain) {
  uLongf size = compressBound(plain.size());
  std::string packed(size, '\0');
  compress2(reinterpret_cast<Bytef*>(packed.data()), &size, reinterpret_cast<const Bytef*>(plain.data()), plain.size(), 9);
  packed.resize(size);
  Elf64_Chdr header{ELFCOMPRESS_ZLIB, 0, plain.size(), 1};
  return std::string(reinterpret_cast<const char*>(&header), sizeof header) + packed;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <directory>\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir / "elf_parser");
  std::filesystem::create_directories(dir / "go_line_table");
  int n = 0;
  for (GoVersion version : {GoVersion::Go12, GoVersion::Go116, GoVersion::Go120}) {
    const std::string tag = std::to_string(n++);
    writeGoBinary((dir / "elf_parser" / ("go" + tag)).string(), GoBinary{version, program("/src/main.go")});
    writeGoBinary((dir / "elf_parser" / ("go-garbled" + tag)).string(), GoBinary{version, program("??")});
    GoBinary unsigned_{version, program("/src/main.go")};
    unsigned_.buildId = false;
    writeGoBinary((dir / "elf_parser" / ("go-no-build-id" + tag)).string(), unsigned_);
    GoBinary stripped{version, program("/src/main.go")};
    stripped.symbolTable = false;
    writeGoBinary((dir / "elf_parser" / ("go-stripped" + tag)).string(), stripped);
    std::ofstream(dir / "go_line_table" / ("table" + tag), std::ios::binary)
        << le64(kGoTextStart + 0x41) + le64(kGoTextStart) + goLineTable(version, kGoTextStart, program("??"));
  }
  const std::string text(300, 'x');
  writeElf((dir / "elf_parser" / "compressed").string(),
           {{".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 0x401000, text},
            {".debug_info", SHT_PROGBITS, SHF_COMPRESSED, 0, compressedSection(text + "debugging information")}},
           {{"main", ".text", 0x401000}});
  const auto source = dir / "small.c";
  std::ofstream(source) << "#include <stdio.h>\nint main(int argc, char** argv) { puts(argv[argc - 1]); return 0; }\n";
  const std::string command = "cc -Os -s -Wl,--build-id=none -Wl,-z,noseparate-code -Wl,-z,norelro -o " +
                              (dir / "elf_parser" / "c-dynamic").string() + " " + source.string() + " 2>/dev/null";
  if (std::system(command.c_str()) != 0) std::fprintf(stderr, "no C compiler: the C program seed is left out\n");
  std::filesystem::remove(source);
  return 0;
}
