#pragma once
// ElfFile: an ELF file read through libelf on an open descriptor, with pread as needed: never
// mapped, so a file truncated while it is read cannot kill the agent with SIGBUS. It refuses
// what Go's debug/elf (Auditbeat's reader) refuses when it opens a file: a bad header, program
// or section header table, or section name.

#include <gelf.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace fim::watcher {

struct ElfSectionHeader {
  std::string_view name;  // into the section name table (owned by the ElfFile)
  GElf_Shdr header{};
  std::uint64_t size = 0;         // of its contents: the uncompressed size of a compressed section
  std::uint32_t compression = 0;  // ch_type of a compressed section
  bool compressed() const { return (header.sh_flags & SHF_COMPRESSED) != 0; }
};

struct ElfSymbol {
  std::string_view name;  // into the table's strings; "" when the name offset is bad
  unsigned char info = 0;
  std::uint16_t section = 0;  // st_shndx as stored (SHN_XINDEX is not resolved)
  std::uint64_t value = 0;
};

struct ElfSymbolTable {
  std::vector<ElfSymbol> symbols;  // without the null symbol at index 0
  std::span<const unsigned char> strings;  // the linked string table (owned by the ElfFile)
};

class ElfFile {
 public:
  // `fd` must stay open while the ElfFile is used; `size` is the file's size.
  [[nodiscard]] static core::Result<ElfFile> open(int fd, std::uint64_t size);

  ElfFile(ElfFile&&) noexcept = default;
  ElfFile& operator=(ElfFile&&) noexcept = default;
  ~ElfFile() = default;

  const std::vector<ElfSectionHeader>& sections() const { return sections_; }
  const ElfSectionHeader* find(std::string_view name) const;  // the first section of that name
  const ElfSectionHeader* findType(std::uint32_t type) const;  // the first of that type

  // The stored bytes of a section (owned by this ElfFile). Errors for SHT_NOBITS (unless empty),
  // a compressed section, or one that extends past the end of the file.
  [[nodiscard]] core::Result<std::span<const unsigned char>> contents(const ElfSectionHeader& section) const;

  // A section's contents, decompressed, handed to `sink` a chunk at a time; what lies past the
  // end of the file is simply not there.
  [[nodiscard]] core::Status stream(const ElfSectionHeader& section, const std::function<void(std::span<const unsigned char>)>& sink,
                                    std::stop_token stop) const;

  // Charges `bytes` of work (bytes read, inflated, scanned or copied) to this file's budget: 16
  // times its size plus 64 MiB, far more than any real ELF file takes, so that a crafted one (of
  // overlapping sections, a decompression bomb, one huge string named a million times) cannot
  // keep a worker busy for hours or take all memory. Exceeding it is an error.
  [[nodiscard]] core::Status spend(std::uint64_t bytes) const;

  // A NUL-terminated string of a string table, its scan charged; nullopt when the offset or the NUL is missing.
  [[nodiscard]] core::Result<std::optional<std::string_view>> stringAt(std::span<const unsigned char> table, std::uint64_t offset) const;

  // The first symbol table of `type` (SHT_SYMTAB, SHT_DYNSYM) and its strings; nullopt when
  // there is none. Errors when its size is no multiple of a symbol's, or its string table is bad.
  [[nodiscard]] core::Result<std::optional<ElfSymbolTable>> symbols(std::uint32_t type) const;

  // The section's data as libelf converts it (version tables), or nullopt when unreadable.
  Elf_Data* data(const ElfSectionHeader& section) const;

 private:
  struct ElfEnd {
    void operator()(Elf* elf) const { elf_end(elf); }
  };
  ElfFile(int fd, std::uint64_t size, Elf* elf);
  [[nodiscard]] core::Status readHeaders();
  [[nodiscard]] core::Status checkProgramHeaders(const GElf_Ehdr& ehdr) const;
  bool fits(std::uint64_t offset, std::uint64_t entries, std::uint64_t entrySize) const;  // a table within the file
  [[nodiscard]] core::Status inflateSection(const ElfSectionHeader& section, std::uint64_t offset, std::uint64_t end,
                                            const std::function<void(std::span<const unsigned char>)>& sink,
                                            std::stop_token stop) const;
  [[nodiscard]] core::Status readNames(std::size_t nameIndex, const std::vector<std::uint32_t>& nameOffsets);
  std::size_t indexOf(const ElfSectionHeader& section) const { return static_cast<std::size_t>(&section - sections_.data()); }

  int fd_ = -1;
  std::uint64_t size_ = 0;
  std::unique_ptr<Elf, ElfEnd> elf_;
  int elfClass_ = ELFCLASS64;
  std::vector<ElfSectionHeader> sections_;
  mutable std::uint64_t budget_ = 0;
};

}  // namespace fim::watcher
