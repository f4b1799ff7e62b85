#pragma once
// The field reference (fields/README.md) generated from the schema: for each fields.yml entry,
// one markdown table per top-level group listing its fields with type, level and description.

#include <string>

#include "mapper/schema.h"

namespace fim::mapper {

std::string fieldReferenceMarkdown(const Schema& schema);

}  // namespace fim::mapper
