#include "mapper/file_fields.h"

namespace fim::mapper {
namespace {

Value stringList(const std::vector<std::string>& list, Allocator& a) {
  Value out(rapidjson::kArrayType);
  out.Reserve(static_cast<rapidjson::SizeType>(list.size()), a);
  for (const auto& s : list) out.PushBack(refString(s), a);
  return out;
}

void addNumber(Value& object, std::string_view key, const std::optional<double>& value, Allocator& a) {
  if (value) add(object, key, Value(*value), a);
}

Value sectionObject(const events::ElfSection& s, Allocator& a) {
  Value out(rapidjson::kObjectType);
  if (s.name) addRef(out, "name", *s.name, a);
  if (s.physicalSize) add(out, "physical_size", Value(*s.physicalSize), a);
  if (s.virtualSize) add(out, "virtual_size", Value(*s.virtualSize), a);
  addNumber(out, "entropy", s.entropy, a);
  addNumber(out, "var_entropy", s.varEntropy, a);
  return out;
}

}  // namespace

Value elfObject(const events::ElfInfo& elf, Allocator& a) {
  Value out(rapidjson::kObjectType);
  if (elf.sections) {
    Value sections(rapidjson::kArrayType);
    sections.Reserve(static_cast<rapidjson::SizeType>(elf.sections->size()), a);
    for (const auto& s : *elf.sections) sections.PushBack(sectionObject(s, a), a);
    add(out, "sections", std::move(sections), a);
  }
  if (elf.importHash) addRef(out, "import_hash", *elf.importHash, a);
  if (elf.imports) add(out, "imports", stringList(*elf.imports, a), a);
  addNumber(out, "imports_names_entropy", elf.importsNamesEntropy, a);
  addNumber(out, "imports_names_var_entropy", elf.importsNamesVarEntropy, a);
  if (elf.goImportHash) addRef(out, "go_import_hash", *elf.goImportHash, a);
  if (elf.goImports) add(out, "go_imports", stringList(*elf.goImports, a), a);
  addNumber(out, "go_imports_names_entropy", elf.goImportsNamesEntropy, a);
  addNumber(out, "go_imports_names_var_entropy", elf.goImportsNamesVarEntropy, a);
  if (elf.goStripped) add(out, "go_stripped", Value(*elf.goStripped), a);
  return out;
}

}  // namespace fim::mapper
