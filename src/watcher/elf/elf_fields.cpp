#include "watcher/elf/elf_fields.h"

namespace fim::watcher {

const std::vector<std::string>& ElfFields::names() {
  static const std::vector<std::string> kNames{
      "file.elf.sections",
      "file.elf.sections.name",
      "file.elf.sections.physical_size",
      "file.elf.sections.virtual_size",
      "file.elf.sections.entropy",
      "file.elf.sections.var_entropy",
      "file.elf.import_hash",
      "file.elf.imports",
      "file.elf.imports_names_entropy",
      "file.elf.imports_names_var_entropy",
      "file.elf.go_import_hash",
      "file.elf.go_imports",
      "file.elf.go_imports_names_entropy",
      "file.elf.go_imports_names_var_entropy",
      "file.elf.go_stripped",
  };
  return kNames;
}

ElfFields ElfFields::fromNames(const std::vector<std::string>& selected) {
  ElfFields fields;
  const auto& known = names();
  for (const auto& name : selected) {
    for (std::size_t i = 0; i < known.size(); ++i) {
      if (known[i] == name) fields.add(static_cast<ElfField>(i));
    }
  }
  return fields;
}

ElfFields ElfFields::all() {
  ElfFields fields;
  for (std::size_t i = 0; i < names().size(); ++i) fields.add(static_cast<ElfField>(i));
  return fields;
}

}  // namespace fim::watcher
