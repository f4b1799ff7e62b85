#pragma once
// file.* and file_integrity.* of a FileEvent as rapidjson Values, in the formats of Elastic's FIM
// sample event (ids as decimal strings, mode "0644", ISO-8601 UTC dates).

#include <cstdint>
#include <string>
#include <string_view>

#include "events/file_event.h"
#include "mapper/json_value.h"

namespace fim::mapper {

std::string formatMode(std::uint32_t mode);  // permission bits only, as Auditbeat: "0644", "0777"
std::string_view fileName(std::string_view path);
std::string_view fileExtension(std::string_view path);  // "gz" for a.tar.gz; "" for .bashrc

// The `file` object. Strings reference `f`, which must outlive the value.
Value fileObject(const events::FileInfo& f, Allocator& a);

// file.elf: what file_parsers found in an ELF file. Strings reference `elf`, which must outlive the value.
Value elfObject(const events::ElfInfo& elf, Allocator& a);

// A deleted file's `file`: path, name and type only; its last known state is file_integrity.previous.*.
bool isDeletion(const events::FileEvent& e);
Value deletedFileObject(const events::FileInfo& f, Allocator& a);

// The `file_integrity` object (changed_attributes, previous.* holding exactly the changed
// attributes' old values, previous.path of a moved file, selinux, acl, process.exited);
// an empty object when there is nothing to say.
Value fileIntegrityObject(const events::FileEvent& e, Allocator& a);

// ECS `package` (name, version, architecture) of the installed package that owns the file.
Value packageObject(const events::PackageVerdict& p, Allocator& a);

}  // namespace fim::mapper
