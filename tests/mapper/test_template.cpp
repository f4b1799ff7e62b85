#include <doctest/doctest.h>

#include <map>

#include "core/metrics.h"
#include "mapper/document_builder.h"
#include "mapper/template_generator.h"
#include "mapper_fixtures.h"

using namespace fim;
using testing::parseJson;

namespace {

// The mapping of a dotted field in a template's properties, or null.
const rapidjson::Value* mappingOf(const rapidjson::Value& mappings, const std::string& name) {
  const rapidjson::Value* props = &mappings["properties"];
  std::size_t start = 0;
  while (true) {
    const auto dot = name.find('.', start);
    const std::string part = name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!props->IsObject() || !props->HasMember(part.c_str())) return nullptr;
    const rapidjson::Value& m = (*props)[part.c_str()];
    if (dot == std::string::npos) return &m;
    if (!m.HasMember("properties")) return m.HasMember("type") && std::string(m["type"].GetString()) == "object" ? &m : nullptr;
    props = &m["properties"];
    start = dot + 1;
  }
}

bool fits(const std::string& type, const rapidjson::Value& v) {
  if (v.IsString()) return type == "keyword" || type == "constant_keyword" || type == "match_only_text" || type == "date" || type == "ip" || type == "wildcard";
  if (v.IsBool()) return type == "boolean";
  if (v.IsInt64() || v.IsUint64()) return type == "long" || type == "integer" || type == "unsigned_long";
  if (v.IsDouble()) return type == "double" || type == "float" || type == "scaled_float";
  return false;
}

}  // namespace

TEST_CASE("the index template maps every field of every golden document with a type that fits") {
  const auto json = mapper::indexTemplateJson(mapper::builtinSchema(), {.version = "0.1.0"});
  auto tpl = parseJson(json);
  const auto& mappings = tpl["template"]["mappings"];
  core::Metrics metrics;
  mapper::DocumentBuilder builder(testing::testConfig(), metrics);
  int checked = 0;
  for (const auto& [name, event] : testing::goldenEvents()) {
    auto doc = parseJson(builder.build(event));
    std::multimap<std::string, const rapidjson::Value*> values;
    testing::leaves(doc, "", values);
    for (const auto& [field, value] : values) {
      CAPTURE(field);
      const rapidjson::Value* m = mappingOf(mappings, field);
      REQUIRE(m);
      REQUIRE(m->HasMember("type"));
      CHECK(fits(m->operator[]("type").GetString(), *value));
      ++checked;
    }
  }
  CHECK(checked > 100);
}

TEST_CASE("the index template: composable, data stream, ILM or lifecycle, dynamic templates, multi fields") {
  auto tpl = parseJson(mapper::indexTemplateJson(mapper::builtinSchema(), {.version = "1.2.3"}));
  CHECK(std::string(tpl["index_patterns"][0].GetString()) == "logs-fim.event-*");
  CHECK(tpl["data_stream"].IsObject());
  CHECK(tpl["priority"].GetInt() == 150);
  CHECK(std::string(tpl["_meta"]["version"].GetString()) == "1.2.3");
  CHECK(std::string(tpl["template"]["settings"]["index"]["lifecycle"]["name"].GetString()) == "fimbeat");
  CHECK_FALSE(tpl["template"].HasMember("lifecycle"));
  const auto& m = tpl["template"]["mappings"];
  CHECK(m["date_detection"].IsFalse());
  const auto& dyn = m["dynamic_templates"];
  // Objects whose keys are free and whose values are keywords (container.labels, dissect, fields, the
  // Kubernetes labels and annotations, labels, process.env), then strings.
  std::vector<std::string> names;
  for (const auto& entry : dyn.GetArray()) names.emplace_back(entry.MemberBegin()->name.GetString());
  CHECK(names == std::vector<std::string>{"container.labels", "dissect", "fields", "kubernetes.annotations", "kubernetes.labels",
                                          "kubernetes.namespace_annotations", "kubernetes.namespace_labels",
                                          "kubernetes.node.annotations", "kubernetes.node.labels", "labels",
                                          "process.env", "strings_as_keyword"});
  REQUIRE(dyn.Size() == 12);
  CHECK(std::string(dyn[0]["container.labels"]["path_match"].GetString()) == "container.labels.*");
  CHECK(std::string(dyn[1]["dissect"]["path_match"].GetString()) == "dissect.*");
  CHECK(std::string(dyn[2]["fields"]["path_match"].GetString()) == "fields.*");
  CHECK(std::string(dyn[9]["labels"]["mapping"]["type"].GetString()) == "keyword");
  CHECK(std::string(dyn[11]["strings_as_keyword"]["match_mapping_type"].GetString()) == "string");
  CHECK(dyn[11]["strings_as_keyword"]["mapping"]["ignore_above"].GetInt() == 1024);
  const auto& p = m["properties"];
  CHECK(std::string(p["@timestamp"]["type"].GetString()) == "date");
  CHECK(p["file"]["properties"]["path"]["ignore_above"].GetInt() == 1024);
  CHECK(std::string(p["file"]["properties"]["path"]["fields"]["text"]["type"].GetString()) == "match_only_text");
  CHECK(std::string(p["file"]["properties"]["size"]["type"].GetString()) == "long");
  CHECK(std::string(p["host"]["properties"]["ip"]["type"].GetString()) == "ip");
  CHECK(std::string(p["data_stream"]["properties"]["dataset"]["type"].GetString()) == "constant_keyword");
  CHECK(std::string(p["error"]["properties"]["message"]["type"].GetString()) == "match_only_text");
  CHECK(std::string(p["file"]["properties"]["setuid"]["type"].GetString()) == "boolean");
  CHECK(std::string(p["labels"]["type"].GetString()) == "object");
  CHECK(std::string(p["cloud"]["properties"]["instance"]["properties"]["id"]["type"].GetString()) == "keyword");

  auto dsl = parseJson(mapper::indexTemplateJson(mapper::builtinSchema(), {.ilmPolicy = "", .dataRetention = "30d"}));
  CHECK_FALSE(dsl["template"]["settings"]["index"].HasMember("lifecycle"));
  CHECK(std::string(dsl["template"]["lifecycle"]["data_retention"].GetString()) == "30d");
  auto forever = parseJson(mapper::indexTemplateJson(mapper::builtinSchema(), {.ilmPolicy = ""}));
  CHECK_FALSE(forever["template"]["lifecycle"].HasMember("data_retention"));
}

TEST_CASE("the ILM policy rolls over in the hot phase at 50gb per primary shard or 30 days") {
  auto policy = parseJson(mapper::ilmPolicyJson());
  const auto& rollover = policy["policy"]["phases"]["hot"]["actions"]["rollover"];
  CHECK(std::string(rollover["max_primary_shard_size"].GetString()) == "50gb");
  CHECK(std::string(rollover["max_age"].GetString()) == "30d");
}

TEST_CASE("templates/ holds the template and policy generated with default options") {
  const std::string dir = testing::kSourceDir + "/templates/";
  const std::string tpl = mapper::indexTemplateJson(mapper::builtinSchema(), {}) + "\n";
  const std::string ilm = mapper::ilmPolicyJson() + "\n";
  CHECK(tpl.find("\"version\": \"") == std::string::npos);  // no version given: none claimed
  if (testing::envSet("FIM_UPDATE_FIELDS_DOC")) {
    testing::writeFile(dir + "index-template.json", tpl);
    testing::writeFile(dir + "ilm-policy.json", ilm);
  }
  CHECK_MESSAGE(testing::readFile(dir + "index-template.json") == tpl,
                "templates/index-template.json is out of date: run FIM_UPDATE_FIELDS_DOC=1 build/test_mapper");
  CHECK_MESSAGE(testing::readFile(dir + "ilm-policy.json") == ilm,
                "templates/ilm-policy.json is out of date: run FIM_UPDATE_FIELDS_DOC=1 build/test_mapper");
}

TEST_CASE("a nested field is mapped as nested, with the fields declared inside it") {
  auto tpl = parseJson(mapper::indexTemplateJson(mapper::builtinSchema(), {}));
  const auto& mappings = tpl["template"]["mappings"];
  const rapidjson::Value* sections = mappingOf(mappings, "file.elf.sections");
  REQUIRE(sections);
  CHECK(std::string((*sections)["type"].GetString()) == "nested");
  const rapidjson::Value* entropy = mappingOf(mappings, "file.elf.sections.entropy");
  REQUIRE(entropy);
  CHECK(std::string((*entropy)["type"].GetString()) == "double");
  CHECK(std::string((*mappingOf(mappings, "file.elf.sections.name"))["type"].GetString()) == "keyword");
}
