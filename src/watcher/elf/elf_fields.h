#pragma once
// ElfFields: which file.elf.* fields a module's file_parsers asks for (Auditbeat's names).

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace fim::watcher {

enum class ElfField : std::uint8_t {
  Sections,  // every field of every section
  SectionsName,
  SectionsPhysicalSize,
  SectionsVirtualSize,
  SectionsEntropy,
  SectionsVarEntropy,
  ImportHash,
  Imports,
  ImportsNamesEntropy,
  ImportsNamesVarEntropy,
  GoImportHash,
  GoImports,
  GoImportsNamesEntropy,
  GoImportsNamesVarEntropy,
  GoStripped,
};

class ElfFields {
 public:
  // From config's resolved file_parsers (file.elf.sections, ...); names of other formats are ignored.
  static ElfFields fromNames(const std::vector<std::string>& names);
  static ElfFields all();
  static const std::vector<std::string>& names();  // "file.elf.sections", ... in ElfField order

  void add(ElfField f) { bits_ |= bit(f); }
  bool has(ElfField f) const { return (bits_ & bit(f)) != 0; }
  bool any(std::initializer_list<ElfField> fields) const {
    for (auto f : fields) {
      if (has(f)) return true;
    }
    return false;
  }
  bool empty() const { return bits_ == 0; }

 private:
  static constexpr std::uint32_t bit(ElfField f) { return 1u << static_cast<unsigned>(f); }
  std::uint32_t bits_ = 0;
};

}  // namespace fim::watcher
