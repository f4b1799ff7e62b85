// convert, decode_json_fields, dissect, extract_array, rate_limit and add_id with Beats' options
// and semantics; the cases are those of Beats' documentation and tests (libbeat/processors/...).

#include <doctest/doctest.h>

#include <map>
#include <set>

#include "core/base64.h"
#include "mapper/processors/dissector.h"
#include "mapper/processors/token_bucket.h"
#include "processor_test_support.h"

using namespace fim;
using namespace fim::testing;

namespace {

struct Result {
  std::string json;
  std::int64_t failures = 0;
  bool kept = true;
};

const std::string kModule = "fimbeat.modules:\n- module: file_integrity\n  paths: [/etc]\noutput.file.path: /tmp/e\n";

Result run(const std::string& processors, const std::string& json, const mapper::EventContext& context = {}) {
  const auto config = loadConfig("processors:\n" + processors);
  core::Metrics metrics;
  auto chain = buildChain(config, metrics);
  auto document = parseDocument(json);
  const bool kept = chain->apply(*document, 0, context);
  return {toJson(*document), metrics.counter("enricher.processors.failures").value(), kept};
}

std::string errorOfChain(const std::string& processors) {
  const auto config = loadConfig("processors:\n" + processors);
  core::Metrics metrics;
  auto chain = mapper::processors::ProcessorChain::build(config, metrics);
  return chain ? std::string() : chain.error().message();
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string quote(const std::string& text) {  // `text` as a JSON string
  rapidjson::Value v(rapidjson::StringRef(text.data(), text.size()));
  return toJson(v);
}

}  // namespace

// ---- convert ----

TEST_CASE("convert: Beats' documented example, copying into ECS fields") {
  auto r = run("- convert:\n    fields:\n      - {from: src_ip, to: source.ip, type: ip}\n"
               "      - {from: src_port, to: source.port, type: integer}\n    ignore_missing: true\n    fail_on_error: false\n",
               R"({"src_ip":"10.0.0.1","src_port":"8080"})");
  CHECK(r.json == R"({"src_ip":"10.0.0.1","src_port":"8080","source":{"ip":"10.0.0.1","port":8080}})");
  CHECK(r.failures == 0);
}

TEST_CASE("convert: each type, in place") {
  const auto one = [](const std::string& type, const std::string& value) {
    return run("- convert: {fields: [{from: v, type: " + type + "}]}\n", R"({"v":)" + value + "}");
  };
  CHECK(one("integer", R"("42")").json == R"({"v":42})");
  CHECK(one("integer", R"("0x1F")").json == R"({"v":31})");
  CHECK(one("integer", R"("-0x1F")").json == R"({"v":-31})");
  CHECK(one("long", R"("9007199254740993")").json == R"({"v":9007199254740993})");
  CHECK(one("integer", "3.9").json == R"({"v":3})");
  CHECK(one("integer", R"("3000000000")").failures == 1);  // past int32
  CHECK(one("float", R"("3.14")").json == R"({"v":3.14})");
  CHECK(one("double", "7").json == R"({"v":7.0})");
  CHECK(one("boolean", R"("T")").json == R"({"v":true})");
  CHECK(one("boolean", R"("yes")").failures == 1);
  CHECK(one("boolean", "1").failures == 1);  // a number is not a boolean
  CHECK(one("string", "3.5").json == R"({"v":"3.5"})");
  CHECK(one("string", "true").json == R"({"v":"true"})");
  CHECK(one("string", "null").failures == 1);
  CHECK(one("ip", R"("2001:db8::1")").json == R"({"v":"2001:db8::1"})");
  CHECK(one("ip", R"("300.1.1.1")").failures == 1);
  CHECK(one("IP", R"("10.1.1.1")").json == R"({"v":"10.1.1.1"})");  // type names are case-insensitive
}

TEST_CASE("convert: fail_on_error leaves the event as it was, ignore_missing, mode rename") {
  const std::string doc = R"({"a":"1","b":"x"})";
  auto strict = run("- convert: {fields: [{from: a, type: integer}, {from: b, type: integer}]}\n", doc);
  CHECK(strict.json == doc);
  CHECK(strict.failures == 1);
  auto lenient = run("- convert: {fail_on_error: false, fields: [{from: a, type: integer}, {from: b, type: integer}]}\n", doc);
  CHECK(lenient.json == R"({"a":1,"b":"x"})");
  CHECK(run("- convert: {fields: [{from: nope, type: integer}]}\n", doc).failures == 1);
  CHECK(run("- convert: {ignore_missing: true, fields: [{from: nope, type: integer}]}\n", doc).failures == 0);
  CHECK(run("- convert: {mode: rename, fields: [{from: a, to: n, type: long}]}\n", doc).json == R"({"b":"x","n":1})");
  CHECK(run("- convert: {fields: [{from: a, to: n}]}\n", doc).json == R"({"a":"1","b":"x","n":"1"})");  // no type: a copy
  // A target under a value that is not an object: with fail_on_error nothing changes.
  CHECK(run("- convert: {fields: [{from: a, to: n, type: long}, {from: a, to: b.c, type: long}]}\n", doc).json == doc);
}

TEST_CASE("convert: options are checked at load") {
  CHECK(contains(errorsOf(kModule + "processors:\n- convert: {fields: [{from: a}]}\n"), "each field must have a 'to' or a 'type'"));
  CHECK(contains(errorsOf(kModule + "processors:\n- convert: {fields: [{from: a, type: int}]}\n"), "invalid data type \"int\""));
  CHECK(contains(errorsOf(kModule + "processors:\n- convert: {mode: move, fields: [{from: a, type: long}]}\n"), "invalid mode"));
  CHECK(contains(errorsOf(kModule + "processors:\n- convert: {tag: x}\n"), "processors.0.convert.fields: is required"));
}

// ---- decode_json_fields ----

TEST_CASE("decode_json_fields: in place, into a target, and at the root (Beats' documented options)") {
  const std::string doc = R"({"message":"{\"a\":1,\"b\":{\"c\":\"x\"},\"big\":18446744073709551615}"})";
  CHECK(run("- decode_json_fields: {fields: [message]}\n", doc).json ==
        R"({"message":{"a":1,"b":{"c":"x"},"big":18446744073709553000.0}})");
  CHECK(run("- decode_json_fields: {fields: [message], target: json}\n", doc).json ==
        R"({"message":"{\"a\":1,\"b\":{\"c\":\"x\"},\"big\":18446744073709551615}","json":{"a":1,"b":{"c":"x"},"big":18446744073709553000.0}})");
  auto root = run("- decode_json_fields:\n    fields: [message]\n    process_array: false\n    max_depth: 1\n    target: \"\"\n"
                  "    overwrite_keys: false\n    add_error_key: true\n",
                  R"({"a":0,"message":"{\"a\":1,\"n\":{\"x\":2}}"})");
  CHECK(root.json == R"({"a":0,"message":"{\"a\":1,\"n\":{\"x\":2}}","n":{"x":2}})");  // `a` is not overwritten
  CHECK(run("- decode_json_fields: {fields: [message], target: '', overwrite_keys: true}\n", R"({"a":0,"message":"{\"a\":1}"})").json ==
        R"({"a":1,"message":"{\"a\":1}"})");
  CHECK(run("- decode_json_fields: {fields: [nope, n]}\n", R"({"n":5})").failures == 0);  // absent or not text: skipped
}

TEST_CASE("decode_json_fields: max_depth decodes JSON inside JSON, inner arrays only with process_array") {
  // m holds {"inner": "{\"x\":1}", "list": "[\"{\\\"y\\\":2}\"]"}: JSON text inside JSON text, three levels.
  const std::string list = "[" + quote(R"({"y":2})") + "]";
  const std::string m = "{\"inner\":" + quote(R"({"x":1})") + ",\"list\":" + quote(list) + "}";
  const std::string doc = "{\"m\":" + quote(m) + "}";
  CHECK(run("- decode_json_fields: {fields: [m]}\n", doc).json == "{\"m\":{\"inner\":" + quote(R"({"x":1})") + ",\"list\":" + quote(list) + "}}");
  // At the last level an array is decoded like an object (Beats checks process_array only where
  // it would go deeper).
  CHECK(run("- decode_json_fields: {fields: [m], max_depth: 2}\n", doc).json ==
        "{\"m\":{\"inner\":{\"x\":1},\"list\":[" + quote(R"({"y":2})") + "]}}");
  CHECK(run("- decode_json_fields: {fields: [m], max_depth: 3}\n", doc).json ==
        "{\"m\":{\"inner\":{\"x\":1},\"list\":" + quote(list) + "}}");
  CHECK(run("- decode_json_fields: {fields: [m], max_depth: 3, process_array: true}\n", doc).json ==
        R"({"m":{"inner":{"x":1},"list":[{"y":2}]}})");
  CHECK(run("- decode_json_fields: {fields: [m]}\n", R"({"m":"[1,2]"})").json == R"({"m":[1,2]})");
  // A top-level array with max_depth > 1 and no process_array: "processing skipped", as in Beats.
  CHECK(run("- decode_json_fields: {fields: [m], max_depth: 2}\n", R"({"m":"[1,2]"})").json == R"({"m":"[1,2]"})");
}

TEST_CASE("decode_json_fields: add_error_key, document_id, expand_keys, @timestamp and type") {
  auto bad = run("- decode_json_fields: {fields: [m], add_error_key: true}\n", R"({"m":"{\"a\":"})");
  CHECK(contains(bad.json, R"("error":{"message":"parsing input as JSON: )"));
  CHECK(contains(bad.json, R"("type":"json","data":"{\"a\":","field":"m"})"));
  CHECK(bad.failures == 1);
  CHECK(run("- decode_json_fields: {fields: [m]}\n", R"({"m":"{\"a\":"})").json == R"({"m":"{\"a\":"})");  // no error key
  CHECK(contains(run("- decode_json_fields: {fields: [m], add_error_key: true}\n", R"({"m":"{} {}"})").json,
                 "multiple json elements found"));
  CHECK(run("- decode_json_fields: {fields: [m], document_id: key}\n", R"({"m":"{\"key\":\"id-1\",\"x\":1}"})").json ==
        R"({"m":{"x":1},"@metadata":{"_id":"id-1"}})");
  CHECK(run("- decode_json_fields: {fields: [m], target: '', expand_keys: true}\n", R"({"m":"{\"a.b\":1,\"a.c\":2}"})").json ==
        R"({"m":"{\"a.b\":1,\"a.c\":2}","a":{"b":1,"c":2}})");
  CHECK(run("- decode_json_fields: {fields: [m], target: '', overwrite_keys: true}\n",
            R"({"@timestamp":"x","type":"fim","m":"{\"@timestamp\":\"2024-05-01T10:00:00.5+02:00\",\"type\":\"app\"}"})").json ==
        R"({"m":"{\"@timestamp\":\"2024-05-01T10:00:00.5+02:00\",\"type\":\"app\"}","@timestamp":"2024-05-01T08:00:00.500Z","type":"app"})");
  CHECK(contains(errorsOf(kModule + "processors:\n- decode_json_fields: {fields: [m], max_depth: 0}\n"), "max_depth"));
}

// ---- dissect ----

TEST_CASE("dissect: Beats' tokenizer test table (testdata/dissect_tests.json)") {
  struct Case {
    const char* tok;
    const char* msg;
    std::map<std::string, std::string> expected;  // empty: must fail
  };
  const std::vector<Case> cases{
      {"level=%{level} ts=%{timestamp} caller=%{caller} msg=\"%{message}\"",
       "level=info ts=2018-06-27T17:19:13.036579993Z caller=main.go:222 msg=\"Starting OK\" version=\"(version=2.3.1)\"}",
       {{"caller", "main.go:222"}, {"level", "info"}, {"message", "Starting OK"}, {"timestamp", "2018-06-27T17:19:13.036579993Z"}}},
      {"/var/log/%{key}.log", "foobar", {}},
      {"/var/log/%{key}.log", "/var/log/foobar", {}},
      {"%{key}", "foobar", {{"key", "foobar"}}},
      {"%{key1} %{key2}", "foo bar", {{"key1", "foo"}, {"key2", "bar"}}},
      {"/var/%{key}/log", "/var/foobar/log", {{"key", "foobar"}}},
      {"/var/%{key}", "/var/foobar/log", {{"key", "foobar/log"}}},
      {"/var/%{key}/log/%{key1}", "/var/foobar/log/apache", {{"key", "foobar"}, {"key1", "apache"}}},
      {"/var/%{key}/log/%{key1}.log", "/var/foobar/log/apache.log", {{"key", "foobar"}, {"key1", "apache"}}},
      {"%{+key/3} %{+key/1} %{+key/2}", "1 2 3", {{"key", "2 3 1"}}},
      {"%{key}-%{+key}-%{+key}", "1-2-3", {{"key", "1-2-3"}}},
      {"%{} %{key}", "hello world", {{"key", "world"}}},
      {"%{?key} %{&key}", "hello world", {{"hello", "world"}}},
      {"%{*key} %{&key}", "hello world", {{"hello", "world"}}},
      {"%{name},%{addr1},%{addr2},%{addr3},%{city},%{zip}", "Jane Doe,4321 Fifth Avenue,,,New York,87432",
       {{"addr1", "4321 Fifth Avenue"}, {"addr2", ""}, {"addr3", ""}, {"city", "New York"}, {"name", "Jane Doe"}, {"zip", "87432"}}},
      {"%{id} %{function->} %{server}", "00000043 ViewReceive     machine-321",
       {{"function", "ViewReceive"}, {"id", "00000043"}, {"server", "machine-321"}}},
      {"%{id} %{function} %{server->} ", "00000043 ViewReceive machine-321    ",
       {{"function", "ViewReceive"}, {"id", "00000043"}, {"server", "machine-321"}}},
      {"%{id->} %{function} %{server}", "00000043    ViewReceive machine-321",
       {{"function", "ViewReceive"}, {"id", "00000043"}, {"server", "machine-321"}}},
      {"{%{a}}{%{b}} %{rest}", "{c}{d} anything", {{"a", "c"}, {"b", "d"}, {"rest", "anything"}}},
      {"%{a#3}%{b}", "abcdef", {{"a", "abc"}, {"b", "def"}}},  // fixed length
  };
  for (const auto& c : cases) {
    CAPTURE(c.tok);
    auto dissector = mapper::processors::Dissector::compile(c.tok);
    REQUIRE(dissector.has_value());
    rapidjson::Document scratch;
    std::string error;
    auto fields = dissector->dissect(c.msg, scratch.GetAllocator(), &error);
    if (c.expected.empty()) {
      CHECK_FALSE(fields.has_value());
      CHECK_FALSE(error.empty());
      continue;
    }
    REQUIRE(fields.has_value());
    std::map<std::string, std::string> got;
    for (const auto& [k, v] : *fields) got[k] = v.GetString();
    CHECK(got == c.expected);
  }
  for (const char* bad : {"hello", "%{+&a}", "%{&key} x", "%{a->}%{b}"}) {
    CAPTURE(bad);
    CHECK_FALSE(mapper::processors::Dissector::compile(bad).has_value());
  }
}

TEST_CASE("dissect: Beats' documented example, typed keys at the root") {
  auto r = run("- dissect:\n    tokenizer: \"%{service.pid|integer} - %{service.name} - %{service.status}\"\n"
               "    field: message\n    target_prefix: \"\"\n",
               R"({"message":"321 - App01 - WebServer is starting"})");
  CHECK(r.json == R"({"message":"321 - App01 - WebServer is starting","service":{"pid":321,"name":"App01","status":"WebServer is starting"}})");
}

TEST_CASE("dissect: target_prefix, overwrite_keys, ignore_failure, log.flags, trimming") {
  const std::string doc = R"({"message":"a b"})";
  CHECK(run("- dissect: {tokenizer: '%{x} %{y}'}\n", doc).json == R"({"message":"a b","dissect":{"x":"a","y":"b"}})");
  const std::string clash = R"({"message":"a b","dissect":{"x":"old"}})";
  auto kept = run("- dissect: {tokenizer: '%{x} %{y}'}\n", clash);
  CHECK(kept.json == clash);  // nothing written: `dissect.x` exists
  CHECK(kept.failures == 1);
  CHECK(run("- dissect: {tokenizer: '%{x} %{y}', overwrite_keys: true}\n", clash).json ==
        R"({"message":"a b","dissect":{"x":"a","y":"b"}})");
  auto nomatch = run("- dissect: {tokenizer: '%{x}-%{y}'}\n", doc);
  CHECK(nomatch.json == R"({"message":"a b","log":{"flags":["dissect_parsing_error"]}})");
  CHECK(nomatch.failures == 1);
  auto ignored = run("- dissect: {tokenizer: '%{x}-%{y}', ignore_failure: true}\n", doc);
  CHECK(ignored.json == nomatch.json);
  CHECK(ignored.failures == 0);
  CHECK(run("- dissect: {tokenizer: '%{x}|%{y}', trim_values: all, trim_chars: ' \t'}\n", R"({"message":"  a \t| b  "})").json ==
        R"({"message":"  a \t| b  ","dissect":{"x":"a","y":"b"}})");
  CHECK(run("- dissect: {tokenizer: '%{x}|%{y}', trim_values: left}\n", R"({"message":" a | b "})").json ==
        R"({"message":" a | b ","dissect":{"x":"a ","y":"b "}})");
  CHECK(run("- dissect: {tokenizer: '%{x}', field: file.path}\n", R"({"file":{"path":"/etc/x"}})").json ==
        R"({"file":{"path":"/etc/x"},"dissect":{"x":"/etc/x"}})");
  CHECK(contains(errorOfChain("- dissect: {tokenizer: 'no keys'}\n"), "invalid dissect tokenizer"));
  CHECK(contains(errorsOf(kModule + "processors:\n- dissect: {field: message}\n"), "tokenizer: is required"));
  CHECK(contains(errorsOf(kModule + "processors:\n- dissect: {tokenizer: '%{a}', trim_values: both}\n"), "trim_values"));
}

// ---- extract_array ----

TEST_CASE("extract_array: Beats' test cases") {
  CHECK(run("- extract_array: {field: array, mappings: {dest.one: 1, dest.two: 2}}\n", R"({"array":["zero",1,{"two":2}]})").json ==
        R"({"array":["zero",1,{"two":2}],"dest":{"one":1,"two":{"two":2}}})");
  auto out = run("- extract_array: {field: array, mappings: {source.ip: 0, destination.ip: 999}}\n", R"({"array":["127.0.0.1"]})");
  CHECK(out.json == R"({"array":["127.0.0.1"],"error":{"message":"index 999 exceeds length of 1 when processing mapping for field destination.ip"}})");
  CHECK(out.failures == 1);
  CHECK(run("- extract_array: {field: array, fail_on_error: false, mappings: {a: 0, b.c: 1}}\n", R"({"array":[3.14,9000.0],"b":true})").json ==
        R"({"array":[3.14,9000.0],"b":true,"a":3.14})");
  CHECK(run("- extract_array: {field: array, mappings: {a: 1, b: 1, c: 1}}\n", R"({"array":[0,42]})").json ==
        R"({"array":[0,42],"a":42,"b":42,"c":42})");
  CHECK(run("- extract_array: {field: array, omit_empty: true, mappings: {a: 0, b: 1, c: 2, d: 3, e: 4}}\n",
            R"({"array":[0,"",[],{},0.0]})").json == R"({"array":[0,"",[],{},0.0],"a":0,"e":0.0})");
  CHECK(run("- extract_array: {field: array, mappings: {a: 0, b: 1}}\n", R"({"array":[null,""]})").json ==
        R"({"array":[null,""],"a":null,"b":""})");
}

TEST_CASE("extract_array: the documented example, missing, not an array, existing targets") {
  CHECK(run("- extract_array:\n    field: my_array\n    mappings:\n      source.ip: 0\n      destination.ip: 1\n      network.transport: 2\n",
            R"({"my_array":["10.0.0.1","10.0.0.2","tcp"]})").json ==
        R"({"my_array":["10.0.0.1","10.0.0.2","tcp"],"source":{"ip":"10.0.0.1"},"destination":{"ip":"10.0.0.2"},"network":{"transport":"tcp"}})");
  CHECK(run("- extract_array: {field: nope, ignore_missing: true, mappings: {a: 0}}\n", R"({"x":1})").failures == 0);
  CHECK(run("- extract_array: {field: nope, mappings: {a: 0}}\n", R"({"x":1})").failures == 1);
  CHECK(run("- extract_array: {field: x, mappings: {a: 0}}\n", R"({"x":1})").json ==
        R"({"x":1,"error":{"message":"unsupported type for field x: got: int64 needed: array"}})");
  CHECK(run("- extract_array: {field: x, fail_on_error: false, mappings: {a: 0}}\n", R"({"x":1})").json == R"({"x":1})");
  CHECK(contains(run("- extract_array: {field: x, mappings: {a: 0}}\n", R"({"x":[1],"a":0})").json, "already has a value"));
  CHECK(run("- extract_array: {field: x, overwrite_keys: true, mappings: {a: 0}}\n", R"({"x":[1],"a":0})").json == R"({"x":[1],"a":1})");
  CHECK(contains(errorsOf(kModule + "processors:\n- extract_array: {field: x, mappings: {a: -1}}\n"), "is not a positive integer"));
  CHECK(contains(errorsOf(kModule + "processors:\n- extract_array: {field: x}\n"), "mappings: is required"));
}

// ---- rate_limit ----

TEST_CASE("rate_limit: the token bucket starts full, refills at the rate, and forgets full buckets") {
  using namespace std::chrono_literals;
  mapper::processors::TokenBucket bucket(2.0, 2.0, 1000);  // limit "2/s"
  const auto t0 = mapper::processors::TokenBucket::Clock::time_point{} + 1h;
  CHECK(bucket.allow("a", t0));
  CHECK(bucket.allow("a", t0));
  CHECK_FALSE(bucket.allow("a", t0));
  CHECK(bucket.allow("b", t0));  // another key, another bucket
  CHECK_FALSE(bucket.allow("a", t0 + 400ms));
  CHECK(bucket.allow("a", t0 + 500ms));  // one token back after half a second
  CHECK(bucket.allow("a", t0 + 1h));
  CHECK(bucket.allow("a", t0 + 1h));
  CHECK_FALSE(bucket.allow("a", t0 + 1h));  // an idle hour refills to the depth, not beyond
  mapper::processors::TokenBucket burst(1.0 / 60, 3.0, 2);  // "1/m" with burst_multiplier 3, gc every 2 calls
  CHECK(burst.allow("k", t0));
  CHECK(burst.allow("k", t0));
  CHECK(burst.allow("x", t0));
  CHECK(burst.buckets() == 2);
  CHECK(burst.allow("x", t0 + 10min));  // the collection refilled "k" completely and forgot it
  CHECK(burst.buckets() == 1);
}

TEST_CASE("rate_limit: events beyond the limit are dropped and counted, fields give each value its own limit") {
  const auto config = loadConfig("processors:\n- rate_limit: {limit: 2/m, fields: [file.path]}\n");
  core::Metrics metrics;
  auto chain = buildChain(config, metrics);
  int kept = 0;
  for (int i = 0; i < 5; ++i) {
    auto a = parseDocument(R"({"file":{"path":"/a"}})");
    auto b = parseDocument(R"({"file":{"path":"/b"}})");
    kept += chain->apply(*a, 0) + chain->apply(*b, 0);
  }
  CHECK(kept == 4);
  CHECK(metrics.counter("enricher.processors.rate_limit.dropped").value() == 6);
  CHECK(metrics.counter("enricher.processors.dropped").value() == 6);
  CHECK(contains(errorsOf(kModule + "processors:\n- rate_limit: {limit: 10/d}\n"), "unit component must be specified as one of"));
  CHECK(contains(errorsOf(kModule + "processors:\n- rate_limit: {limit: ten/s}\n"), "value component is not numeric"));
  CHECK(contains(errorsOf(kModule + "processors:\n- rate_limit: {limit: '10'}\n"), "Must be specified as \"number/unit\""));
  CHECK(contains(errorsOf(kModule + "processors:\n- rate_limit: {limit: 1/s, algorithm: {leaky: {}}}\n"), "token_bucket"));
  CHECK(errorsOf(kModule + "processors:\n- rate_limit: {limit: 1/s, algorithm: {token_bucket: {burst_multiplier: 2, gc: {num_calls: 50}}}}\n")
            .empty());
}

// ---- add_id ----

TEST_CASE("add_id: Elasticsearch's time-based layout, derived from the queued event, the same on redelivery") {
  const std::string agent = "7e061f66-bf86-41e2-858d-d5cbe22e06b1";
  const mapper::EventContext context{0x123456789a, 1650445339365, agent};
  auto first = run("- add_id: ~\n", R"({"x":1})", context);
  auto again = run("- add_id: ~\n", R"({"x":1})", context);
  CHECK(first.json == again.json);
  auto doc = parseDocument(first.json);
  const std::string id = (*doc)["@metadata"]["_id"].GetString();
  CHECK(id.size() == 20);
  CHECK(id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == std::string::npos);
  std::string base64 = id;  // base64url → standard alphabet to decode the 15 bytes
  for (auto& c : base64) c = c == '-' ? '+' : c == '_' ? '/' : c;
  const auto bytes = core::base64Decode(base64);
  REQUIRE(bytes.has_value());
  REQUIRE(bytes->size() == 15);
  const auto byte = [&](int i) { return static_cast<std::uint64_t>(static_cast<unsigned char>((*bytes)[i])); };
  const std::uint64_t seq = byte(0) | byte(13) << 8 | byte(1) << 16;
  const std::uint64_t ts = byte(14) | byte(12) << 8 | byte(2) << 16 | byte(3) << 24 | byte(4) << 32 | byte(5) << 40;
  CHECK(seq == (0x123456789aULL & 0xffffff));
  CHECK(ts == 1650445339365ULL);
  CHECK((byte(6) & 1) == 1);  // the node id is no real MAC address
  auto other = run("- add_id: ~\n", R"({"x":1})", {context.sequence + 1, context.createdMillis, agent});
  CHECK(other.json != first.json);
  CHECK(run("- add_id: {target_field: event.id}\n", R"({"x":1})", context).json ==
        R"({"x":1,"event":{"id":")" + id + R"("}})");
}

TEST_CASE("add_id: an event that was never queued gets Beats' random ids, all different") {
  const auto config = loadConfig("processors:\n- add_id: ~\n");
  core::Metrics metrics;
  auto chain = buildChain(config, metrics);
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    auto doc = parseDocument(R"({"x":1})");
    chain->apply(*doc, 0);
    ids.insert((*doc)["@metadata"]["_id"].GetString());
  }
  CHECK(ids.size() == 1000);
  CHECK(contains(errorsOf(kModule + "processors:\n- add_id: {type: uuid}\n"), "add_id.type"));
}
