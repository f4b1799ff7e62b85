#include "mapper/field_reference.h"

#include <fmt/format.h>

namespace fim::mapper {
namespace {

std::string cell(std::string_view text) {  // one table cell: no pipes or line breaks
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '|') out += "\\|";
    else if (c == '\n' || c == '\r') out += ' ';
    else out += c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string typeCell(const FieldDef& f) {
  std::string type = toString(f.type);
  if (f.objectType) type += fmt::format(" ({})", toString(*f.objectType));
  for (const auto& mf : f.multiFields) type += fmt::format(", .{}: {}", mf.name, toString(mf.type));
  return type;
}

void rows(const std::vector<FieldDef>& fields, std::string& out) {
  for (const auto& f : fields) {
    if (f.type == FieldType::Group) {
      rows(f.fields, out);
      continue;
    }
    out += fmt::format("| `{}` | {} | {} | {} |\n", f.path, typeCell(f), f.level, cell(f.description));
    if (f.type == FieldType::Nested) rows(f.fields, out);
  }
}

void table(std::string_view heading, std::string_view description, const std::vector<FieldDef>& fields, std::string& out) {
  out += fmt::format("### {}\n\n", heading);
  if (!description.empty()) out += fmt::format("{}\n\n", cell(description));
  out += "| Field | Type | Level | Description |\n|---|---|---|---|\n";
  rows(fields, out);
  out += "\n";
}

}  // namespace

std::string fieldReferenceMarkdown(const Schema& schema) {
  std::string out =
      "# fimbeat fields\n\n"
      "Generated from `fields/fields.yml` by `fim::mapper::fieldReferenceMarkdown()`: do not edit by hand.\n"
      "Regenerate with `FIM_UPDATE_FIELDS_DOC=1 build/test_mapper`; the mapper's tests fail while this file\n"
      "differs from what fields.yml produces. `level: custom` marks fields that are not part of ECS.\n\n";
  for (const auto& set : schema.sets()) {
    out += fmt::format("## {}\n\n", set.title.empty() ? set.key : set.title);
    if (!set.description.empty()) out += fmt::format("{}\n\n", cell(set.description));
    std::vector<FieldDef> base;
    for (const auto& f : set.fields) {
      if (f.type != FieldType::Group) base.push_back(f);
    }
    if (!base.empty()) table("Base fields", "", base, out);
    for (const auto& f : set.fields) {
      if (f.type == FieldType::Group) table(f.path, f.description, f.fields, out);
    }
  }
  while (out.ends_with("\n\n")) out.pop_back();
  return out;
}

}  // namespace fim::mapper
