#include "watcher/elf/go_binary.h"

namespace fim::watcher {
namespace {

bool isStandardLibrary(std::string_view name, std::uint64_t address, const std::optional<GoLineTable>& lines) {
  if (lines && lines->fileOf(address) == "??") return false;  // hidden by a garbler: not the standard library
  const auto slash = name.find('/');
  if (slash == std::string_view::npos) return true;
  return name.substr(0, slash).find('.') == std::string_view::npos;  // "github.com/..." has a dot
}

}  // namespace

bool isGoBinary(const ElfFile& file) {
  for (const auto& s : file.sections()) {
    if (s.name == ".gosymtab" || s.name == ".gopclntab" || s.name == ".go.buildinfo") return true;
  }
  return false;
}

std::optional<GoLineTable> goLineTable(const ElfFile& file) {
  const ElfSectionHeader* text = file.find(".text");
  // .gosymtab is empty since Go 1.3 (Go 1.2's symbol table format is not read): it only has to be readable.
  if (const ElfSectionHeader* symtab = file.find(".gosymtab"); symtab && !file.contents(*symtab)) return std::nullopt;
  std::span<const unsigned char> table;
  if (const ElfSectionHeader* pcln = file.find(".gopclntab")) {
    auto bytes = file.contents(*pcln);
    if (!bytes) return std::nullopt;
    table = *bytes;
  }
  return GoLineTable(table, text ? text->header.sh_addr : 0);
}

core::Result<std::vector<std::string>> goImports(const ElfFile& file, const std::optional<GoLineTable>& lines) {
  auto table = file.symbols(SHT_SYMTAB);
  if (!table) return std::unexpected(table.error());
  std::vector<std::string> out;
  if (!*table) return out;  // stripped of its symbol table
  const auto& sections = file.sections();
  for (const ElfSymbol& sym : (*table)->symbols) {
    if (sym.section == SHN_UNDEF || sym.section == SHN_COMMON || sym.name.starts_with("type..")) continue;
    if (isStandardLibrary(sym.name, sym.value, lines) || sym.section >= sections.size()) continue;
    const auto flags = sections[sym.section].header.sh_flags;
    if ((flags & (SHF_ALLOC | SHF_EXECINSTR)) != (SHF_ALLOC | SHF_EXECINSTR)) continue;
    if (auto ok = file.spend(sym.name.size()); !ok) return std::unexpected(ok.error());
    out.emplace_back(sym.name);
  }
  return out;
}

core::Result<bool> goStripped(const ElfFile& file, const std::optional<GoLineTable>& lines) {
  if (!isGoBinary(file)) return false;
  const ElfSectionHeader* buildId = file.find(".note.go.buildid");
  if (!buildId) return true;
  if (auto note = file.contents(*buildId); !note) return std::unexpected(note.error());
  auto table = file.symbols(SHT_SYMTAB);
  if (!table) return std::unexpected(table.error());
  if (!*table) return true;
  for (const ElfSymbol& sym : (*table)->symbols) {
    if (sym.name != "main.main") continue;
    if (!lines) return core::fail(core::ErrorCode::Parse, "the Go line table (.gopclntab) cannot be read to place main.main");
    if (lines->fileOf(sym.value) == "??") return true;
  }
  return false;
}

}  // namespace fim::watcher
