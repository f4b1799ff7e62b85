// The script processor (lang: javascript) with Beats' options, event API and error behaviour
// (libbeat/processors/script/javascript and its docs), run in real worker processes.

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "processor_test_support.h"
#include "support/temp_dir.h"

using namespace fim;
using namespace fim::testing;

namespace {

struct Result {
  std::string json;
  bool kept = true;
  std::int64_t exceptions = 0;
};

std::string indent(const std::string& source) {
  std::string out = "      ";
  for (char c : source) {
    out += c;
    if (c == '\n') out += "      ";
  }
  return out;
}

std::string script(const std::string& source, const std::string& extra = "") {
  return "- script:\n    lang: javascript\n" + extra + "    source: |\n" + indent(source) + "\n";
}

// Runs each document through one chain (so that a worker is reused between them).
std::vector<Result> runAll(const std::string& processors, const std::vector<std::string>& documents) {
  const auto config = loadConfig("processors:\n" + processors);
  core::Metrics metrics;
  auto chain = buildChain(config, metrics);
  std::vector<Result> results;
  for (const auto& json : documents) {
    auto document = parseDocument(json);
    const bool kept = chain->apply(*document, 0);
    results.push_back({toJson(*document), kept, metrics.counter("enricher.processors.script.exceptions").value()});
  }
  return results;
}

Result run(const std::string& processors, const std::string& json) { return runAll(processors, {json}).front(); }

std::string chainError(const std::string& processors, const std::string& moduleExtra = "", bool strictPerms = true) {
  auto options = testOptions();
  options.strictPerms = strictPerms;
  auto loaded = config::loadText("fimbeat.modules:\n- module: file_integrity\n  paths: [/etc]\n" + moduleExtra +
                                     "output.file.path: /tmp/e\nprocessors:\n" + processors,
                                 "test.yml", options);
  if (!loaded) return loaded.error().message();
  core::Metrics metrics;
  auto chain = mapper::processors::ProcessorChain::build(loaded->config, metrics);
  return chain ? std::string() : chain.error().message();
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

void writeFile(const std::filesystem::path& path, const std::string& text, mode_t mode = 0644) {
  std::ofstream(path) << text;
  ::chmod(path.c_str(), mode);
}

}  // namespace

TEST_CASE("script: Beats' documented examples (Tag, params with register, test())") {
  CHECK(run(script("function process(event) {\n    event.Tag(\"js\");\n}"), R"({"x":1})").json == R"({"x":1,"tags":["js"]})");

  const auto filter = script(
      "var params = {threshold: 42};\nfunction register(scriptParams) {\n    params = scriptParams;\n}\n"
      "function process(event) {\n    if (event.Get(\"severity\") < params.threshold) {\n        event.Cancel();\n    }\n}",
      "    params:\n      threshold: 15\n");
  auto both = runAll(filter, {R"({"severity":10})", R"({"severity":20})"});
  CHECK_FALSE(both[0].kept);
  CHECK(both[1].kept);

  CHECK(run(script("function process(event) {\n    if (event.Get(\"event.code\") === 1102) {\n"
                   "        event.Put(\"event.action\", \"cleared\");\n    }\n    return event;\n}\n"
                   "function test() {\n    var event = process(new Event({event: {code: 1102}}));\n"
                   "    if (event.Get(\"event.action\") !== \"cleared\") {\n        throw \"expected event.action === cleared\";\n    }\n}"),
            R"({"event":{"code":1102}})").json == R"({"event":{"code":1102,"action":"cleared"}})");
}

TEST_CASE("script: the event API (Get, Put, Rename, Delete, AppendTo, fields)") {
  const auto api = script(
      "function process(e) {\n"
      "  e.Put('copy', e.Get('file.path'));\n"
      "  e.Put('old', e.Put('file.size', 7));\n"
      "  e.Put('missing', e.Get('no.such.field'));\n"
      "  e.Put('renamed', e.Rename('a', 'b.c'));\n"
      "  e.Put('blocked', e.Rename('b', 'copy'));\n"
      "  e.Put('deleted', e.Delete('gone'));\n"
      "  e.Put('deleted_again', e.Delete('gone'));\n"
      "  e.AppendTo('error.message', 'one');\n"
      "  e.AppendTo('error.message', 'two');\n"
      "  e.AppendTo('error.message', 'two');\n"
      "  e.Put('count', Object.keys(e.Get()).length === Object.keys(e.fields).length);\n"
      "  e.Put('@metadata._id', 'my-id');\n"
      "}");
  CHECK(run(api, R"({"file":{"path":"/etc/x","size":3},"a":1,"gone":true})").json ==
        R"({"file":{"path":"/etc/x","size":7},"copy":"/etc/x","old":3,"missing":null,"b":{"c":1},"renamed":true,)"
        R"("blocked":false,"deleted":true,"deleted_again":false,"error":{"message":["one","two"]},"count":true,)"
        R"("@metadata":{"_id":"my-id"}})");
}

TEST_CASE("script: an exception tags the event and sets error.message, the event keeps what the script did") {
  const auto throwing = script("function process(e) {\n  e.Put('seen', true);\n  throw new Error('boom');\n}");
  auto r = runAll(throwing, {R"({"x":1})", R"({"x":2,"tags":["t"],"error":{"message":"earlier"}})"});
  CHECK(r[0].json == R"j({"x":1,"seen":true,"tags":["_js_exception"],"error":{"message":"Error: boom (inline.js:3)"}})j");
  CHECK(r[1].json == R"j({"x":2,"tags":["t","_js_exception"],"error":{"message":["earlier","Error: boom (inline.js:3)"]},"seen":true})j");
  CHECK(r[1].exceptions == 2);
  CHECK(run(script("function process(e) { e.Put('file.path.x', 1); }", "    tag_on_exception: bad_script\n"),
            R"({"file":{"path":"/a"}})").json ==
        R"j({"file":{"path":"/a"},"tags":["bad_script"],"error":{"message":"Error: expected map but type is string (inline.js:1)"}})j");
  // Cancel, then an exception: Beats keep the event.
  CHECK(run(script("function process(e) { e.Cancel(); throw 'x'; }"), R"({"a":1})").kept);
}

TEST_CASE("script: timeout stops a script that never ends, the next event gets a fresh worker") {
  const auto loop = script("function process(e) {\n  if (e.Get('spin')) { while (true) {} }\n  e.Put('done', true);\n}",
                           "    timeout: 200ms\n");
  auto r = runAll(loop, {R"({"spin":true})", R"({"spin":false})"});
  CHECK(r[0].json == R"({"spin":true,"tags":["_js_exception"],"error":{"message":"javascript processor execution timeout"}})");
  CHECK(r[0].kept);
  CHECK(r[1].json == R"({"spin":false,"done":true})");
}

TEST_CASE("script: a script that takes all memory fails with an exception, not fimbeat") {
  // A string that doubles until the 256 MiB budget runs out. The timeout only guards the test.
  auto r = runAll(script("function process(e) {\n  if (!e.Get('big')) return;\n  var s = 'x', a = [];\n"
                         "  while (true) { s = s + s; a.push(s); }\n}",
                         "    timeout: 60s\n"),
                  {R"({"big":true})", R"({"big":false})"});
  CHECK(contains(r[0].json, "_js_exception"));
  CHECK_MESSAGE(contains(r[0].json, "alloc"), r[0].json);
  CHECK(r[1].json == R"({"big":false})");
}

TEST_CASE("script: text round-trips unchanged (accents, emoji, control characters), invalid UTF-8 is repaired") {
  const auto touch = script("function process(e) { e.Put('seen', e.Get('p')); }");
  CHECK(run(touch, R"({"p":"/tmp/caf\u00e9 \ud83d\ude00\t\u0001"})").json ==
        "{\"p\":\"/tmp/caf\xc3\xa9 \xf0\x9f\x98\x80\\t\\u0001\",\"seen\":\"/tmp/caf\xc3\xa9 \xf0\x9f\x98\x80\\t\\u0001\"}");
  const auto config = loadConfig("processors:\n" + touch);
  core::Metrics metrics;
  auto chain = buildChain(config, metrics);
  rapidjson::Document doc;
  doc.SetObject();
  doc.AddMember("p", rapidjson::Value("a\xff" "b", doc.GetAllocator()), doc.GetAllocator());
  REQUIRE(chain->apply(doc, 0));
  CHECK(std::string(doc["seen"].GetString()) == "a\xef\xbf\xbd" "b");
  CHECK(std::string(doc["p"].GetString()) == "a\xef\xbf\xbd" "b");
}

TEST_CASE("script: errors at load name the file and line") {
  CHECK(contains(chainError(script("function process(e) {\n  e.Put('a', ;\n}")), "test.yml:"));
  CHECK(contains(chainError(script("function process(e) {\n  e.Put('a', ;\n}")), "SyntaxError"));
  CHECK(contains(chainError(script("function process(e) {\n  e.Put('a', ;\n}")), "inline.js:2"));
  CHECK(contains(chainError(script("var x = 1;")), "process function not found"));
  CHECK(contains(chainError(script("var process = 3;")), "process is not a function"));
  CHECK(contains(chainError(script("function process(e) {}", "    params: {a: 1}\n")),
                 "params were provided but no register function was found"));
  CHECK(contains(chainError(script("function process(e) {}\nfunction register(p) { throw new Error('bad ' + p.a); }",
                                   "    params: {a: 1}\n")),
                 "failed to register script_params: Error: bad 1 (inline.js:2)"));
  CHECK(contains(chainError(script("function process(e) {}\nfunction test() {\n  throw new Error('no');\n}")),
                 "failed in test() function: Error: no (inline.js:3)"));
  CHECK(contains(chainError(script("function process(e) {}\nthrow new Error('top');")), "Error: top (inline.js:2)"));
  const std::string base = "fimbeat.modules:\n- module: file_integrity\n  paths: [/etc]\noutput.file.path: /tmp/e\n";
  CHECK(contains(errorsOf(base + "processors:\n- script: {source: 'function process(e) {}'}\n"), "lang: is required"));
  CHECK(contains(errorsOf(base + "processors:\n- script: {lang: python, source: 'x'}\n"), "script type must be declared"));
  CHECK(contains(errorsOf(base + "processors:\n- script: {lang: js}\n"), "javascript must be defined via 'file', 'files', or inline"));
  CHECK(contains(errorsOf(base + "processors:\n- script: {lang: js, source: x, file: y.js}\n"), "only one of"));
}

TEST_CASE("script: files are read at load, relative to path.config, globs expanded, errors point into the right file") {
  TempDir dir;
  writeFile(dir.path() / "a.js", "var helper = function (e) { e.Tag('a'); };\n");
  writeFile(dir.path() / "b.js", "function process(e) {\n  helper(e);\n  e.Tag('b');\n}\n");
  const std::string extra = "path.config: " + dir.path().string() + "\n";
  const auto config = loadConfig("processors:\n- script: {lang: javascript, files: ['*.js']}\n", extra);
  core::Metrics metrics;
  auto chain = buildChain(config, metrics);
  auto doc = parseDocument(R"({"x":1})");
  REQUIRE(chain->apply(*doc, 0));
  CHECK(toJson(*doc) == R"({"x":1,"tags":["a","b"]})");

  writeFile(dir.path() / "c.js", "function process(e) {\n  e.Tag(;\n}\n");
  const std::string error = chainError("- script: {lang: javascript, files: [a.js, c.js]}\n", extra);
  CHECK(contains(error, (dir.path() / "c.js").string() + ":2"));
  CHECK(contains(chainError("- script: {lang: javascript, file: none-*.js}\n", extra), "no sources were found"));
}

TEST_CASE("script: a script file must pass the config file's checks, in a watched path always, and never through a symlink") {
  TempDir dir;
  writeFile(dir.path() / "open.js", "function process(e) {}\n", 0666);
  writeFile(dir.path() / "good.js", "function process(e) {}\n", 0644);
  std::filesystem::create_symlink(dir.path() / "good.js", dir.path() / "link.js");
  const std::string extra = "path.config: " + dir.path().string() + "\n";
  CHECK(contains(chainError("- script: {lang: js, file: open.js}\n", extra), "script file"));
  CHECK(contains(chainError("- script: {lang: js, file: open.js}\n", extra), "can only be writable by its owner"));
  CHECK(chainError("- script: {lang: js, file: open.js}\n", extra, false).empty());  // --strict.perms=false
  const std::string watched = "- module: file_integrity\n  paths: [" + dir.path().string() + "]\n" + extra;
  CHECK(contains(chainError("- script: {lang: js, file: open.js}\n", watched, false), "lies in a watched path"));
  CHECK(contains(chainError("- script: {lang: js, file: link.js}\n", watched, false), "is a symlink inside a watched path"));
  CHECK(chainError("- script: {lang: js, file: good.js}\n", watched, false).empty());
}
