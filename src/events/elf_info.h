#pragma once
// ElfInfo: file.elf.* of an ELF file, as Auditbeat's file_parsers report it. Each field is set
// only when the module's file_parsers asks for it and the file gives it.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fim::events {

struct ElfSection {
  std::optional<std::string> name;
  std::optional<std::uint64_t> physicalSize;  // bytes in the file (0 for SHT_NOBITS)
  std::optional<std::uint64_t> virtualSize;   // bytes of its (uncompressed) contents
  std::optional<double> entropy;              // Shannon entropy of the contents, in bits per byte
  std::optional<double> varEntropy;           // the variance of that estimate

  bool operator==(const ElfSection&) const = default;
};

struct ElfInfo {
  std::optional<std::vector<ElfSection>> sections;  // every section header, index 0 included
  std::optional<std::string> importHash;            // MD5 hex of the imports joined by ","
  std::optional<std::vector<std::string>> imports;  // "library.symbol", lower case
  std::optional<double> importsNamesEntropy;
  std::optional<double> importsNamesVarEntropy;
  std::optional<std::string> goImportHash;             // MD5 hex of the Go symbols joined by ","
  std::optional<std::vector<std::string>> goImports;  // non-standard-library Go functions
  std::optional<double> goImportsNamesEntropy;
  std::optional<double> goImportsNamesVarEntropy;
  std::optional<bool> goStripped;

  bool empty() const { return *this == ElfInfo{}; }
  bool operator==(const ElfInfo&) const = default;
};

}  // namespace fim::events
