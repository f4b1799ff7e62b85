// The value processors with Beats' options and semantics: add_labels, copy_fields, urldecode,
// decode_base64_field, truncate_fields, replace, add_locale, fingerprint.

#include <doctest/doctest.h>

#include <cstdlib>
#include <ctime>

#include "processor_test_support.h"

using namespace fim;
using namespace fim::testing;

namespace {

struct Result {
  std::string json;
  std::int64_t failures = 0;
};

Result run(const std::string& processors, const std::string& json) {
  const auto config = loadConfig("processors:\n" + processors);
  core::Metrics metrics;
  auto chain = buildChain(config, metrics);
  auto document = parseDocument(json);
  REQUIRE(chain->apply(*document, 0));
  return {toJson(*document), metrics.counter("enricher.processors.failures").value()};
}

const std::string kDoc = R"({"file":{"path":"/etc/a","size":3}})";

}  // namespace

TEST_CASE("add_labels: labels.*, nested maps and lists flattened with dots") {
  auto r = run("- add_labels: {labels: {env: prod, tier: {name: web}, zones: [a, b]}}\n", R"({"x":1})");
  CHECK(r.json == R"({"x":1,"labels":{"env":"prod","tier.name":"web","zones.0":"a","zones.1":"b"}})");
  CHECK(errorsOf("fimbeat.modules:\n- module: file_integrity\n  paths: [/etc]\nprocessors:\n- add_labels: {}\n")
            .find("processors.0.add_labels.labels: is required") != std::string::npos);
}

TEST_CASE("copy_fields: copies, never overwrites, and leaves a failing event as it was") {
  CHECK(run("- copy_fields: {fields: [{from: file.path, to: file.target_path}]}\n", kDoc).json ==
        R"({"file":{"path":"/etc/a","size":3,"target_path":"/etc/a"}})");
  auto clash = run("- copy_fields: {fields: [{from: file.path, to: x}, {from: file.size, to: file.path}]}\n", kDoc);
  CHECK(clash.json == kDoc);  // fail_on_error (default): nothing of the failing event changes
  CHECK(clash.failures == 1);
  auto partial = run("- copy_fields: {fail_on_error: false, fields: [{from: file.path, to: x}, {from: nope, to: y}]}\n", kDoc);
  CHECK(partial.json == R"({"file":{"path":"/etc/a","size":3},"x":"/etc/a"})");
  CHECK(partial.failures == 1);
  CHECK(run("- copy_fields: {ignore_missing: true, fields: [{from: nope, to: y}]}\n", kDoc).failures == 0);
}

TEST_CASE("urldecode and decode_base64_field") {
  CHECK(run("- urldecode: {fields: [{from: u, to: d}]}\n", R"({"u":"a%2Fb+c%20d"})").json == R"({"u":"a%2Fb+c%20d","d":"a/b c d"})");
  CHECK(run("- urldecode: {fields: [{from: u}]}\n", R"({"u":"%41"})").json == R"({"u":"A"})");
  CHECK(run("- urldecode: {fields: [{from: u}]}\n", R"({"u":"%zz"})").failures == 1);
  CHECK(run("- decode_base64_field: {field: {from: m, to: d}}\n", R"({"m":"aGVsbG8="})").json == R"({"m":"aGVsbG8=","d":"hello"})");
  CHECK(run("- decode_base64_field: {field: {from: m}}\n", R"({"m":"!!"})").failures == 1);
}

TEST_CASE("truncate_fields: max_bytes on a UTF-8 boundary, or max_characters") {
  CHECK(run("- truncate_fields: {fields: [m], max_bytes: 4}\n", R"({"m":"abcdef"})").json == R"({"m":"abcd"})");
  CHECK(run("- truncate_fields: {fields: [m], max_bytes: 2}\n", R"({"m":"aé"})").json == R"({"m":"a"})");
  CHECK(run("- truncate_fields: {fields: [m], max_characters: 2}\n", R"({"m":"éèà"})").json == R"({"m":"éè"})");
  CHECK(run("- truncate_fields: {fields: [n], max_bytes: 2}\n", R"({"n":12345})").failures == 1);
  CHECK(errorsOf("fimbeat.modules:\n- module: file_integrity\n  paths: [/etc]\nprocessors:\n- truncate_fields: {fields: [m]}\n")
            .find("exactly one of max_bytes and max_characters") != std::string::npos);
}

TEST_CASE("replace: RE2 patterns, Go's $1 in the replacement") {
  CHECK(run("- replace: {fields: [{field: file.path, pattern: '^/etc/(.*)$', replacement: '/conf/$1'}]}\n", kDoc).json ==
        R"({"file":{"path":"/conf/a","size":3}})");
  CHECK(run("- replace: {fields: [{field: m, pattern: 'o', replacement: '0'}]}\n", R"({"m":"foo"})").json == R"({"m":"f00"})");
  CHECK(run("- replace: {fields: [{field: nope, pattern: 'o', replacement: '0'}]}\n", R"({"m":"x"})").failures == 1);
  CHECK(errorsOf("fimbeat.modules:\n- module: file_integrity\n  paths: [/etc]\nprocessors:\n- replace: {fields: [{field: m, pattern: '(', replacement: x}]}\n")
            .find("invalid regular expression") != std::string::npos);
}

TEST_CASE("add_locale: event.timezone as an offset, or an abbreviation") {
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  CHECK(run("- add_locale: ~\n", R"({})").json == R"({"event":{"timezone":"+00:00"}})");
  CHECK(run("- add_locale: {format: abbreviation}\n", R"({})").json == R"({"event":{"timezone":"UTC"}})");
}

TEST_CASE("fingerprint: Beats' |field|value| text of the sorted fields, hashed and encoded") {
  CHECK(run("- fingerprint: {fields: [file.size, file.path]}\n", kDoc).json ==
        R"({"file":{"path":"/etc/a","size":3},"fingerprint":"c8e768de61c0ce88d5ac6f4dfa080e702f700450d04f6bc90a86737ff69b87e6"})");
  CHECK(run("- fingerprint: {fields: [file.path, file.size], method: md5, encoding: base64, target_field: x.fp}\n", kDoc).json ==
        R"({"file":{"path":"/etc/a","size":3},"x":{"fp":"3QC/jqUi2OuD3DGIWa2b1Q=="}})");
  CHECK(run("- fingerprint: {fields: [file.path, file.size], method: sha1, encoding: base32}\n", kDoc).json ==
        R"({"file":{"path":"/etc/a","size":3},"fingerprint":"47DJZ74GW5ROHVOXQ3MPHUHMETFGAMRD"})");
  CHECK(run("- fingerprint: {fields: [file]}\n", kDoc).failures == 1);  // not a scalar
  CHECK(run("- fingerprint: {fields: [nope]}\n", kDoc).failures == 1);
}

TEST_CASE("network, syslog and DNS processors are accepted with the reason") {
  const std::string head = "fimbeat.modules:\n- module: file_integrity\n  paths: [/etc]\noutput.file.path: /tmp/e\nprocessors:\n";
  auto loaded = loadYaml(head + "- community_id: ~\n- dns: {type: reverse}\n- syslog: {field: message}\n");
  REQUIRE(loaded.has_value());
  const std::string warnings = warningsOf(*loaded);
  CHECK(warnings.find("processors.0.community_id: accepted, no effect: FIM events have no network flow") != std::string::npos);
  CHECK(warnings.find("processors.1.dns: accepted, no effect") != std::string::npos);
  CHECK(warnings.find("processors.2.syslog: accepted, no effect") != std::string::npos);
}
