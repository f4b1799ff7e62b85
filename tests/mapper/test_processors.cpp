// Processors on documents: each one with Beats' semantics, the chain's order, drops and failures.

#include <doctest/doctest.h>

#include "processor_test_support.h"

using namespace fim;
using namespace fim::testing;

namespace {

struct Run {
  std::string json;  // the document after the chain, or "dropped"
  std::int64_t failures = 0;
};

// Runs `processors` (the YAML list under `processors:`) on `json` for module 0.
Run runChain(const std::string& processors, const std::string& json) {
  const auto config = loadConfig("processors:\n" + processors);
  core::Metrics metrics;
  auto chain = buildChain(config, metrics);
  auto document = parseDocument(json);
  const bool kept = chain->apply(*document, 0);
  CHECK(metrics.counter("enricher.processors.dropped").value() == (kept ? 0 : 1));
  return Run{kept ? toJson(*document) : "dropped", metrics.counter("enricher.processors.failures").value()};
}

struct Case {
  const char* name;
  std::string processors;
  std::string input;
  std::string expected;
  std::int64_t failures = 0;
};

void checkAll(std::initializer_list<Case> cases) {
  for (const auto& c : cases) {
    const std::string name = c.name;
    CAPTURE(name);
    const Run run = runChain(c.processors, c.input);
    CHECK(run.json == c.expected);
    CHECK(run.failures == c.failures);
  }
}

const std::string kDoc = R"({"@timestamp":"t","file":{"path":"/etc/a","size":3,"hash":{"sha1":"x","md5":"y"}},"tags":["a"]})";

}  // namespace

TEST_CASE("add_fields: under `fields` by default, at the root with target '', merged deeply, typed as YAML") {
  checkAll({
      {"default target", "- add_fields: {fields: {project: {name: p1, id: 42}}}\n", R"({"a":1})",
       R"({"a":1,"fields":{"project":{"name":"p1","id":42}}})"},
      {"root target", "- add_fields: {target: '', fields: {labels: {env: prod}}}\n", R"({"a":1})",
       R"({"a":1,"labels":{"env":"prod"}})"},
      {"dotted target", "- add_fields: {target: a.b, fields: {c: d}}\n", R"({"a":{"x":1}})",
       R"({"a":{"x":1,"b":{"c":"d"}}})"},
      {"dotted keys nest", "- add_fields: {target: '', fields: {file.owner: root}}\n", kDoc,
       R"({"@timestamp":"t","file":{"path":"/etc/a","size":3,"hash":{"sha1":"x","md5":"y"},"owner":"root"},"tags":["a"]})"},
      {"merge and overwrite", "- add_fields: {target: file, fields: {size: 9, hash: {sha256: z}}}\n", kDoc,
       R"({"@timestamp":"t","file":{"path":"/etc/a","size":9,"hash":{"sha1":"x","md5":"y","sha256":"z"}},"tags":["a"]})"},
      {"a value in the way is replaced", "- add_fields: {target: file.path, fields: {x: 1}}\n", R"({"file":{"path":"/a"}})",
       R"({"file":{"path":{"x":1}}})"},
      {"YAML typing", "- add_fields: {target: '', fields: {s: '42', n: 42, f: 1.5, b: true, neg: -3, l: [1, two], z: ~, t: 'true'}}\n",
       R"({})", R"({"s":"42","n":42,"f":1.5,"b":true,"neg":-3,"l":[1,"two"],"z":null,"t":"true"})"},
  });
}

TEST_CASE("add_tags: appends to the target array, creates it, fails on a non-array") {
  checkAll({
      {"append", "- add_tags: {tags: [b, c]}\n", kDoc,
       R"({"@timestamp":"t","file":{"path":"/etc/a","size":3,"hash":{"sha1":"x","md5":"y"}},"tags":["a","b","c"]})"},
      {"create", "- add_tags: {tags: x}\n", R"({"a":1})", R"({"a":1,"tags":["x"]})"},
      {"custom nested target", "- add_tags: {tags: [x], target: labels.kinds}\n", R"({"labels":{"a":"b"}})",
       R"({"labels":{"a":"b","kinds":["x"]}})"},
      {"target not an array", "- add_tags: {tags: [x], target: file}\n", R"({"file":{"a":1}})", R"({"file":{"a":1}})", 1},
  });
}

TEST_CASE("drop_fields: exact names, /regex/ patterns, ignore_missing, protected fields") {
  checkAll({
      {"exact", "- drop_fields: {fields: [file.hash.sha1, tags]}\n", kDoc,
       R"({"@timestamp":"t","file":{"path":"/etc/a","size":3,"hash":{"md5":"y"}}})"},
      {"a whole object", "- drop_fields: {fields: [file.hash]}\n", kDoc,
       R"({"@timestamp":"t","file":{"path":"/etc/a","size":3},"tags":["a"]})"},
      {"missing is a failure", "- drop_fields: {fields: [file.owner, tags]}\n", kDoc,
       R"({"@timestamp":"t","file":{"path":"/etc/a","size":3,"hash":{"sha1":"x","md5":"y"}}})", 1},
      {"missing ignored", "- drop_fields: {fields: [file.owner], ignore_missing: true}\n", R"({"a":1})", R"({"a":1})"},
      {"regex on dotted paths", "- drop_fields: {fields: ['/^file\\.hash\\./']}\n", kDoc,
       R"({"@timestamp":"t","file":{"path":"/etc/a","size":3,"hash":{}},"tags":["a"]})"},
      {"regex is unanchored", "- drop_fields: {fields: ['/a/']}\n", R"({"path":1,"size":2,"x":{"name":3}})",
       R"({"size":2,"x":{}})"},
      {"regex and exact together", "- drop_fields: {fields: [tags, '/^file$/']}\n", kDoc, R"({"@timestamp":"t"})"},
      {"everything but the protected fields", "- drop_fields: {fields: ['/.*/']}\n",
       R"({"@timestamp":"t","type":"x","a":1,"b":{"c":2}})", R"({"@timestamp":"t","type":"x"})"},
      {"cleanup removes emptied objects", "- drop_fields: {fields: [a.b.c, '/^x\\.y$/'], cleanup: true}\n",
       R"({"a":{"b":{"c":1}},"x":{"y":2},"k":{}})", R"({"k":{}})"},
      {"without cleanup they stay", "- drop_fields: {fields: [a.b.c, '/^x\\.y$/']}\n",
       R"({"a":{"b":{"c":1}},"x":{"y":2},"k":{}})", R"({"a":{"b":{}},"x":{},"k":{}})"},
      {"@timestamp by name is kept", "- drop_fields: {fields: ['@timestamp', type], ignore_missing: true}\n",
       R"({"@timestamp":"t","type":"x"})", R"({"@timestamp":"t","type":"x"})"},
  });
}

TEST_CASE("include_fields: keeps only the listed fields, @timestamp and type") {
  checkAll({
      {"leaves", "- include_fields: {fields: [file.path, tags]}\n", kDoc,
       R"({"file":{"path":"/etc/a"},"tags":["a"],"@timestamp":"t"})"},
      {"an object and a leaf under it", "- include_fields: {fields: [file.path, file]}\n", kDoc,
       R"({"file":{"path":"/etc/a","size":3,"hash":{"sha1":"x","md5":"y"}},"@timestamp":"t"})"},
      {"missing fields are ignored", "- include_fields: {fields: [nope, file.size]}\n",
       R"({"type":"x","file":{"size":3,"path":"p"}})", R"({"file":{"size":3},"type":"x"})"},
  });
}

TEST_CASE("rename: moves fields, refuses to overwrite, restores the document on error by default") {
  checkAll({
      {"simple", "- rename: {fields: [{from: file.path, to: file.target_path}]}\n", R"({"file":{"path":"/a","size":1}})",
       R"({"file":{"size":1,"target_path":"/a"}})"},
      {"into a new object", "- rename: {fields: [{from: a.b, to: c.d.e}]}\n", R"({"a":{"b":{"x":1}}})",
       R"({"a":{},"c":{"d":{"e":{"x":1}}}})"},
      {"missing from", "- rename: {fields: [{from: nope, to: x}]}\n", R"({"a":1})", R"({"a":1})", 1},
      {"missing from ignored", "- rename: {fields: [{from: nope, to: x}], ignore_missing: true}\n", R"({"a":1})",
       R"({"a":1})"},
      {"target exists", "- rename: {fields: [{from: a, to: b}]}\n", R"({"a":1,"b":2})", R"({"a":1,"b":2})", 1},
      {"target crosses a value", "- rename: {fields: [{from: a, to: b.c}]}\n", R"({"a":1,"b":2})", R"({"a":1,"b":2})", 1},
      {"chained renames", "- rename: {fields: [{from: a, to: b}, {from: b, to: c}]}\n", R"({"a":1})", R"({"c":1})"},
      {"fail_on_error restores", "- rename: {fields: [{from: a, to: x}, {from: b, to: y}]}\n", R"({"a":1,"y":2})",
       R"({"a":1,"y":2})", 1},
      {"without fail_on_error the rest goes on",
       "- rename:\n    fields: [{from: a, to: x}, {from: b, to: y}, {from: c, to: z}]\n    fail_on_error: false\n",
       R"({"a":1,"y":2,"c":3})", R"({"y":2,"x":1,"z":3})", 1},
  });
}

TEST_CASE("drop_event and `when` on every processor") {
  checkAll({
      {"drop when it holds", "- drop_event.when.equals.file.path: /etc/a\n", kDoc, "dropped"},
      {"keep when it does not", "- drop_event.when.equals.file.path: /etc/b\n", R"({"file":{"path":"/etc/a"}})",
       R"({"file":{"path":"/etc/a"}})"},
      {"drop_event without when", "- drop_event: ~\n", R"({"a":1})", "dropped"},
      {"processors after a drop do not run", "- drop_event: ~\n- add_tags: {tags: [x]}\n", R"({"a":1})", "dropped"},
      {"add_tags with a false condition", "- add_tags: {tags: [x], when.equals.a: 2}\n", R"({"a":1})", R"({"a":1})"},
      {"add_tags with a true condition", "- add_tags: {tags: [x], when.equals.a: 1}\n", R"({"a":1})",
       R"({"a":1,"tags":["x"]})"},
      {"conditions see earlier changes", "- rename.fields: [{from: a, to: b}]\n- drop_event.when.has_fields: [b]\n",
       R"({"a":1})", "dropped"},
      {"metadata processors do nothing in the chain", "- add_host_metadata: ~\n- add_cloud_metadata: ~\n", R"({"a":1})",
       R"({"a":1})"},
  });
}

TEST_CASE("if/then/else runs one branch") {
  const std::string processors =
      "- if.regexp.file.path: '^/etc/'\n"
      "  then:\n  - add_tags: {tags: [etc]}\n  - add_fields: {target: '', fields: {zone: config}}\n"
      "  else:\n    drop_event: ~\n";
  CHECK(runChain(processors, R"({"file":{"path":"/etc/a"}})").json ==
        R"({"file":{"path":"/etc/a"},"tags":["etc"],"zone":"config"})");
  CHECK(runChain(processors, R"({"file":{"path":"/var/a"}})").json == "dropped");
  CHECK(runChain("- if.has_fields: [x]\n  then:\n  - add_tags: {tags: [x]}\n", R"({"a":1})").json == R"({"a":1})");
}

TEST_CASE("module processors run before the global ones, each module has its own") {
  const auto config = loadConfig(
      "processors:\n- add_tags: {tags: [global]}\n- drop_event.when.has_fields: [moved]\n"
      "fimbeat.modules.1:\n  module: file_integrity\n  paths: [/var]\n  processors:\n  - add_tags: {tags: [second]}\n",
      "  processors:\n  - add_tags: {tags: [first]}\n  - rename.fields: [{from: secret, to: moved}]\n");
  REQUIRE(config.modules.size() == 2);
  core::Metrics metrics;
  auto chain = buildChain(config, metrics);
  CHECK_FALSE(chain->empty());

  auto first = parseDocument(R"({"a":1})");
  REQUIRE(chain->apply(*first, 0));
  CHECK(toJson(*first) == R"({"a":1,"tags":["first","global"]})");

  auto second = parseDocument(R"({"a":1})");
  REQUIRE(chain->apply(*second, 1));
  CHECK(toJson(*second) == R"({"a":1,"tags":["second","global"]})");

  auto unknownModule = parseDocument(R"({"a":1})");
  REQUIRE(chain->apply(*unknownModule, 7));
  CHECK(toJson(*unknownModule) == R"({"a":1,"tags":["global"]})");

  // The module's rename runs first, so the global drop_event sees its result.
  auto renamed = parseDocument(R"({"secret":1})");
  CHECK_FALSE(chain->apply(*renamed, 0));
  auto notRenamed = parseDocument(R"({"secret":1})");
  CHECK(chain->apply(*notRenamed, 1));
  CHECK(metrics.counter("enricher.processors.dropped").value() == 1);
}

TEST_CASE("a chain without processors is empty") {
  core::Metrics metrics;
  CHECK(buildChain(loadConfig(""), metrics)->empty());
  // add_host_metadata and add_cloud_metadata configure the enricher; an unimplemented name is left out.
  CHECK(buildChain(loadConfig("processors:\n- add_host_metadata: ~\n- add_cloud_metadata: ~\n- add_nomad_metadata: ~\n"), metrics)->empty());
  CHECK_FALSE(buildChain(loadConfig("", "  processors:\n  - drop_event: ~\n"), metrics)->empty());
}

TEST_CASE("a config built by hand with a bad regexp or network fails to build, naming the processor") {
  config::Config config;
  config::ProcessorConfig processor;
  processor.name = "drop_event";
  processor.origin = config::Origin{"hand.yml", 3};
  processor.options = config::DropEventConfig{};
  config::ConditionConfig when;
  when.kind = config::ConditionKind::Regexp;
  when.terms.push_back(config::ConditionTerm{"file.path", "(", false, {}, {}, {}, {}, {}, {}});
  processor.when = when;
  config.processors.push_back(processor);
  core::Metrics metrics;
  auto chain = mapper::processors::ProcessorChain::build(config, metrics);
  REQUIRE_FALSE(chain.has_value());
  CHECK(chain.error().message().find("hand.yml:3: drop_event when: regexp file.path: invalid regular expression") !=
        std::string::npos);

  config.processors[0].when->kind = config::ConditionKind::Network;
  config.processors[0].when->terms[0].networks = {"10.0.0.0/99"};
  chain = mapper::processors::ProcessorChain::build(config, metrics);
  REQUIRE_FALSE(chain.has_value());
  CHECK(chain.error().message().find("\"10.0.0.0/99\" is neither a CIDR nor a named network") != std::string::npos);
}
