#include "watcher/elf/elf_file.h"

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>
#include <mutex>

namespace fim::watcher {
namespace {

constexpr std::size_t kChunk = 64 * 1024;
constexpr std::uint64_t kBudgetFactor = 16;
constexpr std::uint64_t kBudgetMargin = 64ull << 20;

core::Error malformed(std::string what) { return core::Error(core::ErrorCode::Parse, std::move(what)); }

// A libelf failure, with libelf's reason.
core::Error elfError(const std::string& what) { return malformed(what + ": " + elf_errmsg(-1)); }

bool negative(std::uint64_t v) { return v >> 63 != 0; }  // Go's debug/elf reads offsets as int64

// Reads up to buffer.size() bytes at offset; 0 at end of file.
core::Result<std::size_t> readAt(int fd, std::span<unsigned char> buffer, std::uint64_t offset) {
  while (true) {
    const ssize_t n = ::pread(fd, buffer.data(), buffer.size(), static_cast<off_t>(offset));
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) return std::unexpected(core::errnoError("reading", errno));
  }
}

core::Error interrupted() { return core::Error(core::ErrorCode::Unavailable, "interrupted", true); }

}  // namespace

ElfFile::ElfFile(int fd, std::uint64_t size, Elf* elf)
    : fd_(fd), size_(size), elf_(elf), budget_(size > (UINT64_MAX - kBudgetMargin) / kBudgetFactor ? UINT64_MAX : size * kBudgetFactor + kBudgetMargin) {}

core::Status ElfFile::spend(std::uint64_t bytes) const {
  if (bytes > budget_) {
    budget_ = 0;
    return core::fail(core::ErrorCode::Parse,
                      "its sections and tables add up to many times the file's size (crafted?): not read further");
  }
  budget_ -= bytes;
  return {};
}

core::Result<std::optional<std::string_view>> ElfFile::stringAt(std::span<const unsigned char> table, std::uint64_t offset) const {
  if (offset >= table.size()) return std::optional<std::string_view>();
  const auto* start = table.data() + offset;
  const auto* nul = static_cast<const unsigned char*>(std::memchr(start, 0, table.size() - offset));
  if (auto ok = spend(nul ? static_cast<std::uint64_t>(nul - start) + 1 : table.size() - offset); !ok) return std::unexpected(ok.error());
  if (!nul) return std::optional<std::string_view>();
  return std::optional<std::string_view>(std::string_view(reinterpret_cast<const char*>(start), static_cast<std::size_t>(nul - start)));
}

core::Result<ElfFile> ElfFile::open(int fd, std::uint64_t size) {
  static std::once_flag once;
  static bool ready = false;
  std::call_once(once, [] { ready = elf_version(EV_CURRENT) != EV_NONE; });
  if (!ready) return core::fail(core::ErrorCode::Unavailable, "libelf does not support the current ELF version");
  Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);  // read with pread on demand: never mapped
  if (!elf) return std::unexpected(elfError("not a readable ELF file"));
  ElfFile file(fd, size, elf);
  if (elf_kind(elf) != ELF_K_ELF) return core::fail(core::ErrorCode::Parse, "unknown ELF class, byte order or version");
  if (auto ok = file.readHeaders(); !ok) return std::unexpected(ok.error());
  return file;
}

bool ElfFile::fits(std::uint64_t offset, std::uint64_t entries, std::uint64_t entrySize) const {
  return entries == 0 || (entrySize > 0 && offset <= size_ && (size_ - offset) / entrySize >= entries);
}

core::Status ElfFile::checkProgramHeaders(const GElf_Ehdr& ehdr) const {
  Elf* elf = elf_.get();
  std::size_t count = 0;
  if (elf_getphdrnum(elf, &count) != 0) return std::unexpected(elfError("cannot read the program header count"));
  if (count > 0 && ehdr.e_phentsize < (elfClass_ == ELFCLASS32 ? 32 : 56)) {
    return std::unexpected(malformed("program header entries too small"));
  }
  // libelf reads a table cut short as a shorter one (or none); Go's reader refuses the file.
  if (!fits(ehdr.e_phoff, ehdr.e_phnum == PN_XNUM ? count : ehdr.e_phnum, ehdr.e_phentsize)) {
    return std::unexpected(malformed("the program header table extends past the end of the file"));
  }
  for (std::size_t i = 0; i < count; ++i) {
    GElf_Phdr ph;
    if (!gelf_getphdr(elf, static_cast<int>(i), &ph)) return std::unexpected(elfError("cannot read program header " + std::to_string(i)));
    if (negative(ph.p_offset) || negative(ph.p_filesz)) {
      return std::unexpected(malformed("invalid offset or size in program header " + std::to_string(i)));
    }
  }
  return {};
}

core::Status ElfFile::readHeaders() {
  Elf* elf = elf_.get();
  GElf_Ehdr ehdr;
  if (!gelf_getehdr(elf, &ehdr)) return std::unexpected(elfError("cannot read the ELF header"));
  elfClass_ = gelf_getclass(elf);
  if (ehdr.e_version != EV_CURRENT) return std::unexpected(malformed("unknown ELF version in the header"));
  const bool narrow = elfClass_ == ELFCLASS32;
  if (auto ok = checkProgramHeaders(ehdr); !ok) return ok;
  std::size_t count = 0;
  if (elf_getshdrnum(elf, &count) != 0) return std::unexpected(elfError("cannot read the section count"));
  if (ehdr.e_shoff == 0 && ehdr.e_shnum != 0) return std::unexpected(malformed("sections counted but no section header table"));
  if (count > 0 && ehdr.e_shentsize < (narrow ? 40 : 64)) return std::unexpected(malformed("section header entries too small"));
  if ((ehdr.e_shoff != 0 && count == 0) || !fits(ehdr.e_shoff, count, ehdr.e_shentsize)) {  // see checkProgramHeaders
    return std::unexpected(malformed("the section header table extends past the end of the file"));
  }
  std::size_t nameIndex = 0;
  if (elf_getshdrstrndx(elf, &nameIndex) != 0) return std::unexpected(elfError("cannot read the section name table index"));
  if (count > 0 && nameIndex >= count) return std::unexpected(malformed("section name table index out of range"));
  sections_.resize(count);
  std::vector<std::uint32_t> nameOffsets(count);
  for (std::size_t i = 0; i < count; ++i) {
    ElfSectionHeader& s = sections_[i];
    Elf_Scn* scn = elf_getscn(elf, i);
    if (!scn || !gelf_getshdr(scn, &s.header)) return std::unexpected(elfError("cannot read section header " + std::to_string(i)));
    if (negative(s.header.sh_offset) || negative(s.header.sh_size)) {
      return std::unexpected(malformed("invalid offset or size in section header " + std::to_string(i)));
    }
    nameOffsets[i] = s.header.sh_name;
    s.size = s.header.sh_size;
    if (s.compressed()) {  // only its header is read: gelf_getchdr would read the whole section
      const std::size_t headerSize = narrow ? sizeof(Elf32_Chdr) : sizeof(Elf64_Chdr);
      Elf_Data* chunk = s.header.sh_size < headerSize
                            ? nullptr
                            : elf_getdata_rawchunk(elf, static_cast<std::int64_t>(s.header.sh_offset), headerSize, ELF_T_CHDR);
      if (!chunk || !chunk->d_buf || chunk->d_size < headerSize) {
        return std::unexpected(malformed("cannot read the compression header of section " + std::to_string(i)));
      }
      if (narrow) {
        Elf32_Chdr chdr;
        std::memcpy(&chdr, chunk->d_buf, sizeof chdr);
        s.size = chdr.ch_size;
        s.compression = chdr.ch_type;
      } else {
        Elf64_Chdr chdr;
        std::memcpy(&chdr, chunk->d_buf, sizeof chdr);
        s.size = chdr.ch_size;
        s.compression = chdr.ch_type;
      }
    }
  }
  return readNames(nameIndex, nameOffsets);
}

core::Status ElfFile::readNames(std::size_t nameIndex, const std::vector<std::uint32_t>& nameOffsets) {
  if (sections_.empty() || nameIndex == 0) return {};  // no section name table: every name is ""
  const ElfSectionHeader& table = sections_[nameIndex];
  if (table.header.sh_type != SHT_STRTAB) return std::unexpected(malformed("the section name table is not a string table"));
  auto names = contents(table);
  if (!names) return std::unexpected(names.error().context("cannot read the section names"));
  for (std::size_t i = 0; i < sections_.size(); ++i) {
    auto name = stringAt(*names, nameOffsets[i]);
    if (!name) return std::unexpected(name.error());
    if (!*name) return std::unexpected(malformed("bad name offset in section header " + std::to_string(i)));
    sections_[i].name = **name;
  }
  return {};
}

const ElfSectionHeader* ElfFile::find(std::string_view name) const {
  auto it = std::find_if(sections_.begin(), sections_.end(), [&](const ElfSectionHeader& s) { return s.name == name; });
  return it == sections_.end() ? nullptr : &*it;
}

const ElfSectionHeader* ElfFile::findType(std::uint32_t type) const {
  auto it = std::find_if(sections_.begin(), sections_.end(), [&](const ElfSectionHeader& s) { return s.header.sh_type == type; });
  return it == sections_.end() ? nullptr : &*it;
}

core::Result<std::span<const unsigned char>> ElfFile::contents(const ElfSectionHeader& section) const {
  if (section.header.sh_size == 0) return std::span<const unsigned char>{};
  const std::string name(section.name);
  if (section.header.sh_type == SHT_NOBITS) return std::unexpected(malformed("section " + name + " has no contents in the file"));
  if (section.compressed()) return std::unexpected(malformed("section " + name + " is compressed"));
  if (auto ok = spend(section.header.sh_size); !ok) return std::unexpected(ok.error());
  Elf_Data* d = elf_rawdata(elf_getscn(elf_.get(), indexOf(section)), nullptr);
  if (!d || (!d->d_buf && d->d_size > 0)) return std::unexpected(elfError("cannot read section " + name));
  return std::span(static_cast<const unsigned char*>(d->d_buf), d->d_size);
}

Elf_Data* ElfFile::data(const ElfSectionHeader& section) const {
  return elf_getdata(elf_getscn(elf_.get(), indexOf(section)), nullptr);
}

core::Status ElfFile::stream(const ElfSectionHeader& section, const std::function<void(std::span<const unsigned char>)>& sink,
                             std::stop_token stop) const {
  if (section.header.sh_type == SHT_NOBITS) return {};
  const std::uint64_t start = section.header.sh_offset;
  if (start >= size_) return {};
  std::uint64_t offset = start;
  std::uint64_t end = start + std::min(section.header.sh_size, size_ - start);
  if (section.compressed()) return inflateSection(section, offset, end, sink, stop);
  if (auto ok = spend(end - start); !ok) return ok;
  std::array<unsigned char, kChunk> in;
  while (offset < end) {
    if (stop.stop_requested()) return std::unexpected(interrupted());
    auto n = readAt(fd_, std::span(in.data(), std::min<std::uint64_t>(in.size(), end - offset)), offset);
    if (!n) return std::unexpected(n.error());
    if (*n == 0) break;  // shorter than when it was opened
    sink(std::span(in.data(), *n));
    offset += *n;
  }
  return {};
}

core::Status ElfFile::inflateSection(const ElfSectionHeader& section, std::uint64_t offset, std::uint64_t end,
                                     const std::function<void(std::span<const unsigned char>)>& sink, std::stop_token stop) const {
  const std::string name(section.name);
  if (section.compression != ELFCOMPRESS_ZLIB) {
    return std::unexpected(malformed("section " + name + ": unknown compression type " + std::to_string(section.compression)));
  }
  offset += elfClass_ == ELFCLASS32 ? sizeof(Elf32_Chdr) : sizeof(Elf64_Chdr);
  std::array<unsigned char, kChunk> in;
  z_stream z{};
  if (inflateInit(&z) != Z_OK) return core::fail(core::ErrorCode::Internal, "zlib: inflateInit failed");
  std::array<unsigned char, kChunk> out;
  std::uint64_t produced = 0;
  int status = Z_OK;
  core::Status result;
  while (status != Z_STREAM_END && produced < section.size && result) {
    if (stop.stop_requested()) {
      result = std::unexpected(interrupted());
      break;
    }
    if (z.avail_in == 0) {
      auto n = offset < end ? readAt(fd_, std::span(in.data(), std::min<std::uint64_t>(in.size(), end - offset)), offset)
                            : core::Result<std::size_t>(0);
      if (!n) result = std::unexpected(n.error());
      else if (*n == 0) result = std::unexpected(malformed("section " + name + ": compressed data cut short"));
      else result = spend(*n);
      if (!result) break;
      offset += *n;
      z.next_in = in.data();
      z.avail_in = static_cast<uInt>(*n);
    }
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(std::min<std::uint64_t>(out.size(), section.size - produced));
    status = inflate(&z, Z_NO_FLUSH);
    if (status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR) {
      result = std::unexpected(malformed("section " + name + ": corrupt compressed data"));
      break;
    }
    const std::size_t n = static_cast<std::size_t>(z.next_out - out.data());
    if (status == Z_BUF_ERROR && n == 0 && z.avail_in > 0) {
      result = std::unexpected(malformed("section " + name + ": corrupt compressed data"));
      break;
    }
    if (auto ok = spend(n); !ok) {
      result = ok;
      break;
    }
    produced += n;
    sink(std::span(out.data(), n));
  }
  inflateEnd(&z);
  return result;
}

core::Result<std::optional<ElfSymbolTable>> ElfFile::symbols(std::uint32_t type) const {
  const ElfSectionHeader* table = findType(type);
  if (!table) return std::optional<ElfSymbolTable>();
  const std::uint64_t entry = elfClass_ == ELFCLASS32 ? sizeof(Elf32_Sym) : sizeof(Elf64_Sym);
  if (table->compressed()) return std::unexpected(malformed("symbol table " + std::string(table->name) + " is compressed"));
  if (table->header.sh_size % entry != 0) {
    return std::unexpected(malformed("symbol table " + std::string(table->name) + ": its size is not a multiple of a symbol's"));
  }
  if (auto ok = spend(table->header.sh_size); !ok) return std::unexpected(ok.error());
  Elf_Data* d = table->header.sh_size == 0 ? nullptr : data(*table);
  if (table->header.sh_size > 0 && !d) return std::unexpected(elfError("cannot read symbol table " + std::string(table->name)));
  const std::uint32_t link = table->header.sh_link;
  if (link == 0 || link >= sections_.size()) {
    return std::unexpected(malformed("symbol table " + std::string(table->name) + " links to no string table"));
  }
  auto strings = contents(sections_[link]);
  if (!strings) return std::unexpected(strings.error().context("cannot read the strings of symbol table " + std::string(table->name)));
  ElfSymbolTable out;
  out.strings = *strings;
  const std::uint64_t count = table->header.sh_size / entry;
  if (count > static_cast<std::uint64_t>(INT32_MAX)) return std::unexpected(malformed("symbol table " + std::string(table->name) + " is too large"));
  out.symbols.reserve(count > 0 ? count - 1 : 0);
  for (std::uint64_t i = 1; i < count; ++i) {  // index 0 is the null symbol
    GElf_Sym sym;
    if (!gelf_getsym(d, static_cast<int>(i), &sym)) return std::unexpected(elfError("cannot read symbol table " + std::string(table->name)));
    auto name = stringAt(*strings, sym.st_name);
    if (!name) return std::unexpected(name.error());
    out.symbols.push_back(ElfSymbol{name->value_or(std::string_view{}), sym.st_info, sym.st_shndx, sym.st_value});
  }
  return std::optional<ElfSymbolTable>(std::move(out));
}

}  // namespace fim::watcher
