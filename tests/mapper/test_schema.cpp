#include <doctest/doctest.h>

#include <string>

#include "core/metrics.h"
#include "mapper/document_encoder.h"
#include "mapper/field_reference.h"
#include "mapper/schema.h"
#include "mapper_fixtures.h"

using namespace fim;
using mapper::FieldType;
using mapper::Schema;

namespace {

std::string parseError(const std::string& yaml) {
  auto parsed = Schema::parse(yaml, "fields.yml");
  REQUIRE_FALSE(parsed.has_value());
  return parsed.error().message();
}

const char* kSmall = R"(- key: a
  title: A
  description: first
  fields:
    - name: top
      type: keyword
    - name: g
      type: group
      fields:
        - {name: x, type: long}
        - {name: deep.y, type: ip}
- key: b
  title: B
  fields:
    - name: g
      type: group
      fields:
        - {name: z, type: boolean}
    - {name: labels, type: object, object_type: keyword}
)";

}  // namespace

TEST_CASE("a schema compiles groups across entries and dotted names into one tree") {
  auto parsed = Schema::parse(kSmall);
  REQUIRE(parsed.has_value());
  const Schema& s = *parsed;
  CHECK(s.sets().size() == 2);
  CHECK(s.sets()[0].title == "A");
  REQUIRE(s.find("g.x"));
  CHECK((s.find("g.x")->type() == FieldType::Long));
  CHECK((s.find("g.z")->type() == FieldType::Boolean));  // merged from entry b
  CHECK((s.find("g.deep.y")->type() == FieldType::Ip));
  CHECK(s.find("g.deep")->isGroup());
  CHECK(s.find("g.deep.y")->path() == "g.deep.y");
  CHECK(s.find("g.deep.y")->def()->line == 11);
  CHECK(s.find("g.nope") == nullptr);
  CHECK(s.find("top.below") == nullptr);
  CHECK((s.find("labels")->def()->objectType == FieldType::Keyword));
  const mapper::SchemaNode* g = s.find("g");
  REQUIRE(g);
  CHECK(g->child("x") == s.find("g.x"));
  CHECK(g->child("y") == nullptr);
  CHECK(s.leaves().size() == 5);
}

TEST_CASE("a nested field holds its own fields, and an array of objects of them is encoded field by field") {
  auto parsed = Schema::parse(R"(- key: a
  fields:
    - name: g
      type: group
      fields:
        - name: items
          type: nested
          fields:
            - {name: name, type: keyword}
            - {name: size, type: long}
)");
  REQUIRE_MESSAGE(parsed.has_value(), (parsed ? "" : parsed.error().message()));
  const mapper::SchemaNode* items = parsed->find("g.items");
  REQUIRE(items);
  CHECK((items->type() == FieldType::Nested));
  CHECK(items->isGroup());
  CHECK((parsed->find("g.items.size")->type() == FieldType::Long));
  CHECK(parsed->leaves().size() == 2);
  CHECK(parseError("- key: a\n  fields:\n    - name: n\n      type: nested\n").starts_with("fields.yml:3: nested 'n' has no fields"));
  CHECK(parseError("- key: a\n  fields:\n    - {name: n, type: nested, fields: [{name: x}]}\n    - {name: n, type: nested, fields: [{name: y}]}\n")
            .find("'n' is already declared at line 3") != std::string::npos);
  core::Metrics metrics;
  mapper::DocumentEncoder encoder(*parsed, metrics);
  rapidjson::Document doc;
  doc.Parse(R"({"g": {"items": [{"name": "a", "size": "12", "extra": 1}, {"size": 3.5}, 7]}})");
  rapidjson::StringBuffer out;
  REQUIRE(encoder.encode(doc, false, out));
  CHECK(std::string(out.GetString()) == R"({"g":{"items":[{"name":"a","size":12,"extra":1},{"size":3}]}})");
  CHECK(metrics.counter("mapper.fields.undeclared").value() == 1);  // extra: sent as it is
  CHECK(metrics.counter("mapper.fields.invalid").value() == 1);     // 7: a value where objects belong
}

TEST_CASE("schema errors name the line and what is wrong") {
  CHECK(parseError("- key: a\n  fields:\n    - name: f\n      type: strnig\n").starts_with("fields.yml:4: unknown type 'strnig'"));
  CHECK(parseError("- key: a\n  fields:\n    - type: keyword\n").starts_with("fields.yml:3: missing 'name'"));
  CHECK(parseError("- key: a\n  fields:\n    - name: f\n      tpye: keyword\n").starts_with("fields.yml:4: unknown key 'tpye'"));
  CHECK(parseError("- key: a\n  fields:\n    - name: g\n      type: group\n").starts_with("fields.yml:3: group 'g' has no fields"));
  CHECK(parseError("- key: a\n  fields:\n    - {name: f}\n    - {name: f, type: long}\n")
            .starts_with("fields.yml:4: field 'f' is already declared at line 3"));
  CHECK(parseError("- key: a\n  fields:\n    - {name: f, ignore_above: lots}\n").starts_with("fields.yml:3: field 'f': ignore_above"));
  CHECK(parseError("- key: a\n  fields:\n    - {name: f, object_type: keyword}\n").starts_with("fields.yml:3: field 'f': object_type needs type: object"));
  CHECK(parseError("- key: a\n  fields:\n    - {name: f, level: important}\n").starts_with("fields.yml:3: field 'f': level must be"));
  CHECK(parseError("- key: a\n  fields:\n    - name: f\n      fields: []\n").starts_with("fields.yml:4: field 'f' has fields"));
  CHECK(parseError("- key: a\n  fields: [\n").starts_with("fields.yml:3:"));  // YAML syntax error
  CHECK(parseError("key: a\n").starts_with("fields.yml:1: the top level must be a list"));
  CHECK(parseError("- key: a\n  fields:\n    - name: 'a\"b'\n").starts_with("fields.yml:3: invalid field name"));
  CHECK(parseError("- key: a\n  fields:\n    - name: a..b\n").starts_with("fields.yml:3: invalid field name"));
  CHECK(parseError("- key: a\n  fields:\n    - {name: f}\n    - name: f\n      type: group\n      fields: [{name: x}]\n")
            .starts_with("fields.yml:4: group 'f' was declared as a field at line 3"));
}

TEST_CASE("the built-in schema is fields/fields.yml, embedded at build time") {
  CHECK(mapper::builtinFieldsYaml() == testing::readFile(testing::kSourceDir + "/fields/fields.yml"));
  const Schema& s = mapper::builtinSchema();
  CHECK(&s == &mapper::builtinSchema());  // parsed once
  CHECK((s.find("@timestamp")->type() == FieldType::Date));
  CHECK((s.find("file.hash.sha256")->type() == FieldType::Keyword));
  CHECK((s.find("file.hash.xxh64")->type() == FieldType::Keyword));  // merged from the fimbeat entry
  CHECK((s.find("host.ip")->type() == FieldType::Ip));
  CHECK((s.find("data_stream.dataset")->type() == FieldType::ConstantKeyword));
  CHECK((s.find("fields")->def()->objectType == FieldType::Keyword));
  CHECK(s.find("file.path")->def()->multiFields.at(0).name == "text");
}

TEST_CASE("fields/README.md is the reference generated from fields.yml") {
  const std::string path = testing::kSourceDir + "/fields/README.md";
  const std::string generated = mapper::fieldReferenceMarkdown(mapper::builtinSchema());
  CHECK(generated.find("| `file.hash.sha256` | keyword | extended |") != std::string::npos);
  CHECK(generated.find("| `file.path` | keyword, .text: match_only_text | extended |") != std::string::npos);
  CHECK(generated.find("| `labels` | object (keyword) | core |") != std::string::npos);
  if (testing::envSet("FIM_UPDATE_FIELDS_DOC")) testing::writeFile(path, generated);
  CHECK_MESSAGE(testing::readFile(path) == generated,
                "fields/README.md is out of date: run FIM_UPDATE_FIELDS_DOC=1 build/test_mapper and commit it");
}
