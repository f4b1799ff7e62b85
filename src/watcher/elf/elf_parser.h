#pragma once
// parseElf: file.elf.* of a regular file, the fields a module's file_parsers asks for, by the
// rules of Auditbeat's executable parser (docs/configuration.md, "file_parsers", lists them).

#include <optional>
#include <stop_token>
#include <string>

#include "events/elf_info.h"
#include "watcher/elf/elf_fields.h"

namespace fim::watcher {

struct ElfParse {
  std::optional<events::ElfInfo> info;  // nullopt: not an ELF file, or no ELF field asked for
  std::optional<std::string> error;     // why parsing stopped; the fields found before stay in info
};

// Reads the regular file open at `fd` with pread (its file offset is left alone), never mapping
// it and never running anything from it. A file that starts with the ELF magic but is not a
// valid ELF file gives an error; a stop request interrupts a long read.
ElfParse parseElf(int fd, const ElfFields& want, std::stop_token stop = {});

}  // namespace fim::watcher
