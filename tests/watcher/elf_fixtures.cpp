#include "watcher/elf_fixtures.h"

#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <map>
#include <stdexcept>

namespace fim::testing {
namespace {

void put32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void patch32(std::string& out, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

void patch64(std::string& out, std::size_t at, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

void putVarint(std::string& out, std::uint32_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what + ": " + elf_errmsg(-1)); }

// The parts every version shares: function names, file names, and one pc-to-file table per
// function (a single step from "no file" (-1) to its file for its whole size).
struct Tables {
  std::string names;
  std::vector<std::uint32_t> nameOffsets;
  std::vector<std::string> files;  // in order of first use
  std::vector<std::uint32_t> fileOf;
  std::string pcFile{std::string(1, '\0')};  // offset 0 holds no table
  std::vector<std::uint32_t> pcFileOffsets;
};

Tables tables(const std::vector<GoFunction>& functions, std::int32_t firstFile) {
  Tables t;
  for (const auto& f : functions) {
    t.nameOffsets.push_back(static_cast<std::uint32_t>(t.names.size()));
    t.names += f.name + '\0';
    std::uint32_t file = 0;
    while (file < t.files.size() && t.files[file] != f.file) ++file;
    if (file == t.files.size()) t.files.push_back(f.file);
    t.fileOf.push_back(file);
    t.pcFileOffsets.push_back(static_cast<std::uint32_t>(t.pcFile.size()));
    const std::int32_t value = static_cast<std::int32_t>(file) + firstFile;
    putVarint(t.pcFile, static_cast<std::uint32_t>(value + 1) << 1);  // zigzag of value - (-1)
    putVarint(t.pcFile, static_cast<std::uint32_t>(f.size));          // quantum 1
    t.pcFile.push_back('\0');
  }
  return t;
}

std::string go12(std::uint64_t textStart, const std::vector<GoFunction>& functions) {
  const Tables t = tables(functions, 1);  // file numbers start at 1
  const std::size_t n = functions.size();
  std::string out;
  put32(out, 0xfffffffb);
  out += std::string{'\0', '\0', '\x01', '\x08'};
  put64(out, n);
  const std::size_t functab = out.size();
  out.append((2 * n + 1) * 8 + 4, '\0');
  std::vector<std::size_t> records;
  for (std::size_t i = 0; i < n; ++i) {
    records.push_back(out.size());
    put64(out, textStart + functions[i].offset);
    out.append(8 * 4, '\0');  // nameoff, args, frame, pcsp, pcfile, pcln, npcdata, nfuncdata
  }
  const std::size_t names = out.size();
  out += t.names;
  const std::size_t pcs = out.size();
  out += t.pcFile;
  std::vector<std::size_t> fileNames;
  for (const auto& f : t.files) {
    fileNames.push_back(out.size());
    out += f + '\0';
  }
  const std::size_t filetab = out.size();
  put32(out, static_cast<std::uint32_t>(t.files.size() + 1));  // entry 0 is the count itself
  for (auto at : fileNames) put32(out, static_cast<std::uint32_t>(at));
  for (std::size_t i = 0; i < n; ++i) {
    patch64(out, functab + 16 * i, textStart + functions[i].offset);
    patch64(out, functab + 16 * i + 8, records[i]);
    patch32(out, records[i] + 8, static_cast<std::uint32_t>(names + t.nameOffsets[i]));
    patch32(out, records[i] + 8 + 16, static_cast<std::uint32_t>(pcs + t.pcFileOffsets[i]));
  }
  patch64(out, functab + 16 * n, textStart + functions.back().offset + functions.back().size);
  patch32(out, functab + (2 * n + 1) * 8, static_cast<std::uint32_t>(filetab));
  return out;
}

// Go 1.16 and 1.20: header words, then the name, compilation unit, file and pc tables, then the
// function table with the function records after it.
std::string go116Or120(bool go120, std::uint64_t textStart, const std::vector<GoFunction>& functions) {
  const Tables t = tables(functions, 0);  // an index into the compilation unit's files
  const std::size_t n = functions.size();
  const std::size_t entry = go120 ? 4 : 8;  // functab fields and _func's entry
  std::string out;
  put32(out, go120 ? 0xfffffff1 : 0xfffffffa);
  out += std::string{'\0', '\0', '\x01', '\x08'};
  const std::size_t words = out.size();
  out.append((go120 ? 8 : 7) * 8, '\0');
  const std::size_t names = out.size();
  out += t.names;
  const std::size_t cus = out.size();
  std::string files;
  for (const auto& f : t.files) {
    put32(out, static_cast<std::uint32_t>(files.size()));
    files += f + '\0';
  }
  const std::size_t filetab = out.size();
  out += files;
  const std::size_t pctab = out.size();
  out += t.pcFile;
  const std::size_t funcs = out.size();
  const auto putEntry = [&](std::uint64_t offset) {
    if (go120) put32(out, static_cast<std::uint32_t>(offset));
    else put64(out, textStart + offset);
  };
  const std::size_t recordsStart = (2 * n + 1) * entry;
  const std::size_t recordSize = entry + 8 * 4 + 4;  // entry, 8 uint32 fields, then startLine/flags/nfuncdata
  for (std::size_t i = 0; i < n; ++i) {
    putEntry(functions[i].offset);
    if (go120) put32(out, static_cast<std::uint32_t>(recordsStart + i * recordSize));
    else put64(out, recordsStart + i * recordSize);
  }
  putEntry(functions.back().offset + functions.back().size);
  for (std::size_t i = 0; i < n; ++i) {
    putEntry(functions[i].offset);
    put32(out, t.nameOffsets[i]);  // nameOff
    put32(out, 0);                 // args
    put32(out, 0);                 // deferreturn
    put32(out, 0);                 // pcsp
    put32(out, t.pcFileOffsets[i]);
    put32(out, 0);  // pcln
    put32(out, 0);  // npcdata
    put32(out, 0);  // cuOffset: the one compilation unit
    put32(out, 0);  // startLine / funcID, flag, nfuncdata
  }
  std::vector<std::uint64_t> values{n, t.files.size()};
  if (go120) values.push_back(textStart);
  for (auto v : {names, cus, filetab, pctab, funcs}) values.push_back(v);
  for (std::size_t i = 0; i < values.size(); ++i) patch64(out, words + 8 * i, values[i]);
  return out;
}

std::string goNote() {  // an ELF note: name "Go", type 4 (the Go build id)
  const std::string id = "fixture-build-id";
  std::string out;
  put32(out, 3);
  put32(out, static_cast<std::uint32_t>(id.size()));
  put32(out, 4);
  out += std::string("Go\0\0", 4) + id;
  return out;
}

}  // namespace

std::string goLineTable(GoVersion version, std::uint64_t textStart, const std::vector<GoFunction>& functions) {
  if (functions.empty()) throw std::invalid_argument("a Go line table needs a function");
  if (version == GoVersion::Go12) return go12(textStart, functions);
  return go116Or120(version == GoVersion::Go120, textStart, functions);
}

void writeElf(const std::string& path, const std::vector<ElfSectionSpec>& sections, const std::vector<ElfSymbolSpec>& symbols) {
  if (elf_version(EV_CURRENT) == EV_NONE) fail("elf_version");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot create " + path);
  Elf* e = elf_begin(fd, ELF_C_WRITE, nullptr);
  if (!e) fail("elf_begin");
  Elf64_Ehdr* header = elf64_newehdr(e);
  if (!header) fail("elf64_newehdr");
  header->e_ident[EI_DATA] = ELFDATA2LSB;
  header->e_machine = EM_X86_64;
  header->e_type = ET_EXEC;
  header->e_version = EV_CURRENT;

  std::deque<std::string> buffers;  // stable addresses until elf_update has written them
  std::string names(1, '\0');
  const auto nameOf = [&](const std::string& name) {
    const auto at = static_cast<std::uint32_t>(names.size());
    names += name + '\0';
    return at;
  };
  struct Added {
    Elf64_Shdr* header;
    Elf_Data* data;
  };
  const auto addSection = [&](const std::string& name, std::uint32_t type, std::uint64_t flags, std::uint64_t address,
                              std::string data, Elf_Type dataType, std::uint64_t align) {
    Elf_Scn* scn = elf_newscn(e);
    Elf_Data* d = scn ? elf_newdata(scn) : nullptr;
    if (!d) fail("elf_newscn");
    buffers.push_back(std::move(data));
    d->d_buf = buffers.back().data();
    d->d_size = buffers.back().size();
    d->d_type = dataType;
    d->d_align = align;
    d->d_version = EV_CURRENT;
    Elf64_Shdr* sh = elf64_getshdr(scn);
    sh->sh_name = nameOf(name);
    sh->sh_type = type;
    sh->sh_flags = flags;
    sh->sh_addr = address;
    sh->sh_addralign = align;
    return Added{sh, d};
  };
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < sections.size(); ++i) {
    const auto& s = sections[i];
    addSection(s.name, s.type, s.flags, s.address, s.data, ELF_T_BYTE, 1);
    index.emplace(s.name, i + 1);
  }
  std::size_t count = sections.size();
  if (!symbols.empty()) {
    std::string strings(1, '\0');
    std::string table(sizeof(Elf64_Sym), '\0');  // the null symbol
    for (const auto& sym : symbols) {
      Elf64_Sym entry{};
      entry.st_name = static_cast<Elf64_Word>(strings.size());
      strings += sym.name + '\0';
      entry.st_info = sym.info;
      entry.st_shndx = sym.section.empty() ? SHN_UNDEF : static_cast<Elf64_Section>(index.at(sym.section));
      entry.st_value = sym.value;
      table.append(reinterpret_cast<const char*>(&entry), sizeof entry);
    }
    Elf64_Shdr* symtab = addSection(".symtab", SHT_SYMTAB, 0, 0, table, ELF_T_SYM, 8).header;
    symtab->sh_entsize = sizeof(Elf64_Sym);
    symtab->sh_info = 1;  // every symbol is global
    symtab->sh_link = static_cast<Elf64_Word>(count + 2);
    addSection(".strtab", SHT_STRTAB, 0, 0, strings, ELF_T_BYTE, 1);
    count += 2;
  }
  Added shstrtab = addSection(".shstrtab", SHT_STRTAB, 0, 0, "", ELF_T_BYTE, 1);
  buffers.push_back(names);  // complete now that .shstrtab's own name is in
  shstrtab.data->d_buf = buffers.back().data();
  shstrtab.data->d_size = buffers.back().size();
  header->e_shstrndx = static_cast<Elf64_Half>(count + 1);
  if (elf_update(e, ELF_C_WRITE) < 0) fail("elf_update");
  elf_end(e);
  ::close(fd);
}

void writeGoBinary(const std::string& path, const GoBinary& binary) {
  std::uint64_t textSize = 0;
  for (const auto& f : binary.functions) textSize = std::max(textSize, f.offset + f.size);
  std::vector<ElfSectionSpec> sections{
      {".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, kGoTextStart, std::string(textSize, '\xcc')},
      {".gopclntab", SHT_PROGBITS, SHF_ALLOC, 0x500000, goLineTable(binary.version, kGoTextStart, binary.functions)},
  };
  if (binary.buildId) sections.push_back({".note.go.buildid", SHT_NOTE, SHF_ALLOC, 0x400f00, goNote()});
  std::vector<ElfSymbolSpec> symbols;
  if (binary.symbolTable) {
    for (const auto& f : binary.functions) symbols.push_back({f.name, ".text", kGoTextStart + f.offset});
    symbols.insert(symbols.end(), binary.extraSymbols.begin(), binary.extraSymbols.end());
  }
  writeElf(path, sections, symbols);
}

}  // namespace fim::testing
