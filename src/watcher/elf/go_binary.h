#pragma once
// What Auditbeat's executable parser reads of a Go binary built by gc: its functions outside the
// standard library (go_imports, go_import_hash) and whether it was stripped or garbled
// (go_stripped), by the rules of toutoumomoma, the Elastic library behind that parser.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "watcher/elf/elf_file.h"
#include "watcher/elf/go_line_table.h"

namespace fim::watcher {

// A Go binary has a .gosymtab, .gopclntab or .go.buildinfo section.
bool isGoBinary(const ElfFile& file);

// The line table as Go's reader gets it: nullopt when .gosymtab or .gopclntab cannot be read
// (an empty table when there is none). It points into `file`, which must outlive it.
std::optional<GoLineTable> goLineTable(const ElfFile& file);

// The defined symbols of executable sections whose names are not the standard library's (an
// import path without a dot before its first slash) and not type..*, in symbol table order.
// A function whose source file the line table names "??" (garbled) always counts.
[[nodiscard]] core::Result<std::vector<std::string>> goImports(const ElfFile& file, const std::optional<GoLineTable>& lines);

// For a Go binary: true without a .note.go.buildid section or a symbol table, or when main.main's
// source file is "??"; false otherwise and for every other binary.
[[nodiscard]] core::Result<bool> goStripped(const ElfFile& file, const std::optional<GoLineTable>& lines);

}  // namespace fim::watcher
