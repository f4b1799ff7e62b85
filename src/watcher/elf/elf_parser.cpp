#include "watcher/elf/elf_parser.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "watcher/elf/elf_file.h"
#include "watcher/elf/entropy.h"
#include "watcher/elf/go_binary.h"
#include "watcher/hasher.h"

namespace fim::watcher {
namespace {

using F = ElfField;

core::Result<std::string> md5OfList(const std::vector<std::string>& list) {
  auto hasher = MultiHasher::create({events::HashType::Md5});
  if (!hasher) return std::unexpected(hasher.error());
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (i > 0) hasher->update(",", 1);
    hasher->update(list[i].data(), list[i].size());
  }
  auto digests = hasher->finish();
  if (!digests) return std::unexpected(digests.error());
  return digests->at(events::HashType::Md5);
}

// The library each dynamic symbol's GNU version requirement names (.gnu.version_r, .gnu.version),
// read as Go's debug/elf reads them (a bad entry ends the list).
class VersionLibraries {
 public:
  VersionLibraries(const ElfFile& file, std::span<const unsigned char> strings) {
    const ElfSectionHeader* needs = file.findType(SHT_GNU_verneed);
    const ElfSectionHeader* versions = file.findType(SHT_GNU_versym);
    if (!needs || !versions) return;
    if (Elf_Data* d = file.data(*needs)) status_ = readNeeds(file, d, strings);
    versym_ = file.data(*versions);
  }

  const core::Status& status() const { return status_; }

  // "" when the symbol has no version from a named library.
  std::string_view of(std::size_t symbolIndex) const {  // the index without the null symbol
    GElf_Versym version = 0;
    if (!versym_ || symbolIndex + 1 > INT32_MAX || !gelf_getversym(versym_, static_cast<int>(symbolIndex + 1), &version)) return {};
    const auto it = files_.find(version);  // 0 and 1 (local, global) name no library
    return version < 2 || it == files_.end() ? std::string_view{} : it->second;
  }

 private:
  core::Status readNeeds(const ElfFile& file, Elf_Data* d, std::span<const unsigned char> strings) {
    for (std::uint64_t at = 0; at + sizeof(GElf_Verneed) <= d->d_size && at <= INT32_MAX;) {
      GElf_Verneed need;
      if (auto ok = file.spend(sizeof need); !ok) return ok;  // crafted chains can revisit the same bytes
      if (!gelf_getverneed(d, static_cast<int>(at), &need) || need.vn_version != 1) break;
      auto name = file.stringAt(strings, need.vn_file);
      if (!name) return std::unexpected(name.error());
      const std::string_view library = name->value_or(std::string_view{});
      std::uint64_t aux = at + need.vn_aux;
      for (unsigned i = 0; i < need.vn_cnt && aux + sizeof(GElf_Vernaux) <= d->d_size && aux <= INT32_MAX; ++i) {
        GElf_Vernaux entry;
        if (auto ok = file.spend(sizeof entry); !ok) return ok;
        if (!gelf_getvernaux(d, static_cast<int>(aux), &entry)) break;
        files_[entry.vna_other] = library;
        if (entry.vna_next == 0) break;
        aux += entry.vna_next;
      }
      if (need.vn_next == 0) break;
      at += need.vn_next;
    }
    return {};
  }

  std::map<std::uint16_t, std::string_view> files_;
  Elf_Data* versym_ = nullptr;
  core::Status status_;
};

// "library.symbol" of each undefined global dynamic symbol, lower case (ASCII letters only).
core::Result<std::vector<std::string>> importedSymbols(const ElfFile& file) {
  auto table = file.symbols(SHT_DYNSYM);
  if (!table) return std::unexpected(table.error());
  std::vector<std::string> out;
  if (!*table) return out;  // statically linked
  const VersionLibraries libraries(file, (*table)->strings);
  if (!libraries.status()) return std::unexpected(libraries.status().error());
  const auto& symbols = (*table)->symbols;
  for (std::size_t i = 0; i < symbols.size(); ++i) {
    if (GELF_ST_BIND(symbols[i].info) != STB_GLOBAL || symbols[i].section != SHN_UNDEF) continue;
    const std::string_view library = libraries.of(i);
    if (auto ok = file.spend(library.size() + symbols[i].name.size() + 1); !ok) return std::unexpected(ok.error());
    std::string name = std::string(library) + "." + std::string(symbols[i].name);
    for (char& c : name) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    out.push_back(std::move(name));
  }
  return out;
}

core::Status addSections(const ElfFile& file, const ElfFields& want, std::stop_token stop, events::ElfInfo& info) {
  const bool all = want.has(F::Sections);
  const bool entropy = all || want.any({F::SectionsEntropy, F::SectionsVarEntropy});
  if (!entropy && !want.any({F::SectionsName, F::SectionsPhysicalSize, F::SectionsVirtualSize})) return {};
  std::vector<events::ElfSection> sections;
  sections.reserve(file.sections().size());
  for (const ElfSectionHeader& s : file.sections()) {
    ByteTally tally;
    if (entropy) {
      auto ok = file.stream(s, [&](std::span<const unsigned char> bytes) { tally.add(bytes); }, stop);
      if (!ok) return std::unexpected(ok.error().context("reading section " + std::to_string(sections.size())));
    }
    const Entropy e = tally.result();
    events::ElfSection& out = sections.emplace_back();
    if (all || want.has(F::SectionsName)) {
      if (auto ok = file.spend(s.name.size()); !ok) return ok;
      out.name = std::string(s.name);
    }
    if (all || want.has(F::SectionsPhysicalSize)) out.physicalSize = s.header.sh_type == SHT_NOBITS ? 0 : s.header.sh_size;
    if (all || want.has(F::SectionsVirtualSize)) out.virtualSize = s.size;
    if (all || want.has(F::SectionsEntropy)) out.entropy = e.entropy;
    if (all || want.has(F::SectionsVarEntropy)) out.varEntropy = e.variance;
  }
  if (!sections.empty()) info.sections = std::move(sections);
  return {};
}

core::Status addImports(const ElfFile& file, const ElfFields& want, events::ElfInfo& info) {
  if (!want.any({F::ImportHash, F::Imports, F::ImportsNamesEntropy, F::ImportsNamesVarEntropy})) return {};
  auto imports = importedSymbols(file);
  if (!imports) return std::unexpected(imports.error());
  if (want.has(F::ImportHash)) {  // the hash of no imports too, as Auditbeat
    auto hash = md5OfList(*imports);
    if (!hash) return std::unexpected(hash.error().context("import_hash"));
    info.importHash = std::move(*hash);
  }
  if (imports->empty()) return {};
  const Entropy e = nameEntropy(*imports);
  if (want.has(F::ImportsNamesEntropy)) info.importsNamesEntropy = e.entropy;
  if (want.has(F::ImportsNamesVarEntropy)) info.importsNamesVarEntropy = e.variance;
  if (want.has(F::Imports)) info.imports = std::move(*imports);
  return {};
}

// Auditbeat stops at the first Go field of a binary that is not Go's: then none is added, not
// even go_stripped.
core::Status addGo(const ElfFile& file, const ElfFields& want, events::ElfInfo& info) {
  const bool goLists = want.any({F::GoImportHash, F::GoImports, F::GoImportsNamesEntropy, F::GoImportsNamesVarEntropy});
  if (!goLists && !want.has(F::GoStripped)) return {};
  const bool isGo = isGoBinary(file);
  if (goLists && !isGo) return {};
  const std::optional<GoLineTable> lines = isGo ? goLineTable(file) : std::nullopt;
  if (goLists) {
    auto symbols = goImports(file, lines);
    if (!symbols) return std::unexpected(symbols.error());
    if (want.has(F::GoImportHash)) {
      auto hash = md5OfList(*symbols);
      if (!hash) return std::unexpected(hash.error().context("go_import_hash"));
      info.goImportHash = std::move(*hash);
    }
    if (!symbols->empty()) {
      const Entropy e = nameEntropy(*symbols);
      if (want.has(F::GoImportsNamesEntropy)) info.goImportsNamesEntropy = e.entropy;
      if (want.has(F::GoImportsNamesVarEntropy)) info.goImportsNamesVarEntropy = e.variance;
      if (want.has(F::GoImports)) info.goImports = std::move(*symbols);
    }
  }
  if (want.has(F::GoStripped)) {
    auto stripped = goStripped(file, lines);
    if (!stripped) return std::unexpected(stripped.error());
    info.goStripped = *stripped;
  }
  return {};
}

}  // namespace

ElfParse parseElf(int fd, const ElfFields& want, std::stop_token stop) {
  ElfParse out;
  if (want.empty()) return out;
  unsigned char magic[4];
  ssize_t n;
  do {
    n = ::pread(fd, magic, sizeof magic, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    out.error = core::errnoError("reading", errno).message();
    return out;
  }
  if (n < static_cast<ssize_t>(sizeof magic) || std::memcmp(magic, ELFMAG, SELFMAG) != 0) return out;
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    out.error = core::errnoError("fstat", errno).message();
    return out;
  }
  auto file = ElfFile::open(fd, static_cast<std::uint64_t>(st.st_size));
  if (!file) {
    out.error = file.error().message();
    return out;
  }
  out.info.emplace();
  core::Status ok = addSections(*file, want, stop, *out.info);
  if (ok) ok = addImports(*file, want, *out.info);
  if (ok) ok = addGo(*file, want, *out.info);
  if (!ok) out.error = ok.error().message();
  return out;
}

}  // namespace fim::watcher
