#pragma once
// file.* and file_integrity.* from a FileInfo, in the formats of Elastic's FIM sample event.

#include <string>
#include <vector>

#include "core/event.h"
#include "mapper/json_writer.h"

namespace fim::mapper {

std::string formatMode(std::uint32_t mode);      // permission and sticky bits: "0644", "1777"
std::string fileName(const std::string& path);
std::string fileExtension(const std::string& path);  // "gz" for a.tar.gz; "" for .bashrc

// The members of the `file` object.
void writeFileMembers(JsonWriter& w, const core::FileInfo& f);

// file_integrity: changed_attributes and previous.* holding exactly the changed attributes' old values.
void writeFileIntegrity(JsonWriter& w, const core::FileEvent& e);

}  // namespace fim::mapper
