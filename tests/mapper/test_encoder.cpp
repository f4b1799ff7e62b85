#include <doctest/doctest.h>

#include <functional>

#include <spdlog/sinks/base_sink.h>

#include "mapper/document_filter.h"
#include "core/logging.h"
#include "core/metrics.h"
#include "core/utf8.h"
#include "mapper/coerce.h"
#include "mapper/document_builder.h"
#include "mapper/document_encoder.h"
#include "mapper/dotted_keys.h"
#include "mapper_fixtures.h"

using namespace fim;
using mapper::FieldType;
using testing::parseJson;

namespace {

const char* kTypes = R"(- key: t
  fields:
    - {name: '@timestamp', type: date}
    - {name: kw, type: keyword}
    - {name: n, type: long}
    - {name: i, type: integer}
    - {name: u, type: unsigned_long}
    - {name: d, type: double}
    - {name: b, type: boolean}
    - {name: ip, type: ip}
    - {name: date, type: date}
    - {name: labels, type: object, object_type: keyword}
    - {name: raw, type: flattened}
    - name: g
      type: group
      fields:
        - {name: x, type: long}
        - {name: s, type: keyword}
)";

const mapper::Schema& typesSchema() {
  static const mapper::Schema schema = std::move(*mapper::Schema::parse(kTypes));
  return schema;
}

// The encoder's output for one JSON document against the types schema.
std::string encode(const std::string& json, core::Metrics& metrics, bool keepNull = false) {
  mapper::DocumentEncoder encoder(typesSchema(), metrics);
  rapidjson::StringBuffer out;
  auto doc = parseJson(json);
  REQUIRE(encoder.encode(doc, keepNull, out));
  return std::string(out.GetString(), out.GetSize());
}

std::string encode(const std::string& json, bool keepNull = false) {
  core::Metrics metrics;
  return encode(json, metrics, keepNull);
}

// Counts the warnings and the messages the mapper logs (not their text).
class CountingSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  int warnings = 0;
  int infos = 0;

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (msg.level == spdlog::level::warn) ++warnings;
    if (msg.level == spdlog::level::info) ++infos;
  }
  void flush_() override {}
};

class FunctionFilter : public mapper::DocumentFilter {
 public:
  explicit FunctionFilter(std::function<bool(rapidjson::Document&, std::size_t)> f) : f_(std::move(f)) {}
  bool apply(rapidjson::Document& document, std::size_t module, const mapper::EventContext&) const override {
    return f_(document, module);
  }

 private:
  std::function<bool(rapidjson::Document&, std::size_t)> f_;
};

void set(rapidjson::Document& doc, const char* key, rapidjson::Value value) {
  rapidjson::Value name(key, doc.GetAllocator());
  doc.RemoveMember(key);
  doc.AddMember(name, value, doc.GetAllocator());
}

}  // namespace

TEST_CASE("coercion table: each leaf becomes its declared type, or is dropped and counted") {
  struct Row {
    const char* in;
    const char* out;  // "" when dropped
  };
  const Row rows[] = {
      {R"({"kw":"text"})", R"({"kw":"text"})"},
      {R"({"kw":42})", R"({"kw":"42"})"},
      {R"({"kw":-7})", R"({"kw":"-7"})"},
      {R"({"kw":1.5})", R"({"kw":"1.5"})"},
      {R"({"kw":true})", R"({"kw":"true"})"},
      {R"({"kw":{"a":1}})", ""},
      {R"({"kw":["a",2,false]})", R"({"kw":["a","2","false"]})"},
      {R"({"n":42})", R"({"n":42})"},
      {R"({"n":"42"})", R"({"n":42})"},
      {R"({"n":"-42"})", R"({"n":-42})"},
      {R"({"n":"42.9"})", R"({"n":42})"},
      {R"({"n":42.9})", R"({"n":42})"},
      {R"({"n":"forty-two"})", ""},
      {R"({"n":true})", ""},
      {R"({"n":""})", ""},
      {R"({"n":18446744073709551615})", ""},
      {R"({"n":["1","x",3]})", R"({"n":[1,3]})"},
      {R"({"i":2147483648})", ""},
      {R"({"i":"2147483647"})", R"({"i":2147483647})"},
      {R"({"u":18446744073709551615})", R"({"u":18446744073709551615})"},
      {R"({"u":-1})", ""},
      {R"({"u":"7"})", R"({"u":7})"},
      {R"({"d":"2.5"})", R"({"d":2.5})"},
      {R"({"d":3})", R"({"d":3.0})"},
      {R"({"d":"nan"})", ""},
      {R"({"b":"true"})", R"({"b":true})"},
      {R"({"b":"false"})", R"({"b":false})"},
      {R"({"b":false})", R"({"b":false})"},
      {R"({"b":1})", ""},
      {R"({"b":"yes"})", ""},
      {R"({"ip":"10.0.0.1"})", R"({"ip":"10.0.0.1"})"},
      {R"({"ip":"fe80::1"})", R"({"ip":"fe80::1"})"},
      {R"({"ip":"10.0.0.256"})", ""},
      {R"({"ip":"localhost"})", ""},
      {R"({"ip":167772161})", ""},
      {R"({"date":"2022-04-20T09:02:19.365Z"})", R"({"date":"2022-04-20T09:02:19.365Z"})"},
      {R"({"date":"2022-04-20"})", R"({"date":"2022-04-20"})"},
      {R"({"date":"2022-04-20T09:02:19+02:00"})", R"({"date":"2022-04-20T09:02:19+02:00"})"},
      {R"({"date":1650445339365})", R"({"date":"2022-04-20T09:02:19.365Z"})"},
      {R"({"date":"1650445339365"})", R"({"date":"2022-04-20T09:02:19.365Z"})"},
      {R"({"date":"yesterday"})", ""},
      {R"({"date":"2022-13-01"})", ""},
      {R"({"date":"2022-04-20T25:00:00Z"})", ""},
      {R"({"date":true})", ""},
      {R"({"labels":{"env":"prod","n":5,"ok":true}})", R"({"labels":{"env":"prod","n":"5","ok":"true"}})"},
      {R"({"labels":"flat"})", R"({"labels":"flat"})"},
      {R"({"raw":{"a":[1,{"b":null}],"c":1.5}})", R"({"raw":{"a":[1],"c":1.5}})"},
      {R"({"g":{"x":"5","s":5}})", R"({"g":{"x":5,"s":"5"}})"},
      {R"({"g":"not an object"})", ""},
      {R"({"g":{"x":"bad"}})", ""},
      {R"({"g":[{"x":1},{"x":"2"}]})", R"({"g":[{"x":1},{"x":2}]})"},
  };
  for (const auto& row : rows) {
    const std::string in = row.in;
    CAPTURE(in);
    core::Metrics metrics;
    const std::string expected = *row.out ? row.out : "{}";
    CHECK(encode(row.in, metrics) == expected);
    const bool dropped = !*row.out || std::string(row.in).find("\"x\",3") != std::string::npos;
    CHECK(metrics.counter("mapper.fields.invalid").value() == (dropped ? 1 : 0));
  }
}

TEST_CASE("coercion helpers: ISO dates and IP addresses") {
  CHECK(mapper::isIsoDate("2022"));
  CHECK(mapper::isIsoDate("2022-04"));
  CHECK(mapper::isIsoDate("2022-04-20T09"));
  CHECK(mapper::isIsoDate("2022-04-20T09:02:19,5-0330"));
  CHECK(mapper::isIsoDate("2022-04-20T09:02:19.123456789Z"));
  CHECK_FALSE(mapper::isIsoDate("2022-04-20T09:02:19.1234567891Z"));
  CHECK_FALSE(mapper::isIsoDate("22-04-20"));
  CHECK_FALSE(mapper::isIsoDate("2022-04-20 09:02"));
  CHECK_FALSE(mapper::isIsoDate("2022-04-00"));
  CHECK(mapper::isIpAddress("::1"));
  CHECK(mapper::isIpAddress("::ffff:10.0.0.1"));
  CHECK_FALSE(mapper::isIpAddress("1.2.3"));
  CHECK_FALSE(mapper::isIpAddress(""));
}

TEST_CASE("@timestamp is written first, bad UTF-8 is repaired, emptied objects and arrays vanish") {
  CHECK(encode(R"({"kw":"a","@timestamp":"2022-04-20T09:02:19.365Z"})") ==
        R"({"@timestamp":"2022-04-20T09:02:19.365Z","kw":"a"})");
  CHECK(encode("{\"kw\":\"bad\xff\"}") == "{\"kw\":\"bad\xEF\xBF\xBD\"}");
  CHECK(encode(R"({"g":{"x":null},"n":[],"kw":"x","labels":{}})") == R"({"kw":"x"})");
  CHECK(encode(R"({"g":{"x":null},"kw":[null]})") == R"({})");
}

TEST_CASE("nulls are dropped unless keep_null is set") {
  CHECK(encode(R"({"kw":null,"g":{"x":null},"labels":{"a":null}})", false) == "{}");
  CHECK(encode(R"({"kw":null,"g":{"x":null},"labels":{"a":null}})", true) ==
        R"({"kw":null,"g":{"x":null},"labels":{"a":null}})");
  core::Metrics metrics;
  CHECK(encode(R"({"nope":null})", metrics, true) == R"({"nope":null})");  // undeclared: sent as it is
  CHECK(encode(R"({"nope":null})", metrics, false) == "{}");
  CHECK(metrics.counter("mapper.fields.undeclared").value() == 2);
}

TEST_CASE("an undeclared field is sent as it is and counted every time, with one message per distinct name") {
  auto sink = std::make_shared<CountingSink>();
  auto& logger = core::logger("mapper");
  logger.sinks().push_back(sink);
  const auto level = logger.level();
  logger.set_level(spdlog::level::info);
  core::Metrics metrics;
  mapper::DocumentEncoder encoder(typesSchema(), metrics);
  rapidjson::StringBuffer out;
  for (int i = 0; i < 100; ++i) {
    // Names Elasticsearch refuses (a root "_" name, an empty segment) would reject the whole
    // document: those alone are dropped.
    auto doc = parseJson(R"({"kw":"x","nope":1,"g":{"x":1,"other":{"deep":true,"list":[1,"a",{"b":null}]}},"_id":"i","a..b":2})");
    REQUIRE(encoder.encode(doc, false, out));
    CHECK(std::string(out.GetString(), out.GetSize()) == R"({"kw":"x","nope":1,"g":{"x":1,"other":{"deep":true,"list":[1,"a"]}}})");
  }
  logger.sinks().pop_back();
  logger.set_level(level);
  CHECK(metrics.counter("mapper.fields.undeclared").value() == 200);
  CHECK(metrics.counter("mapper.fields.dropped").value() == 200);
  CHECK(sink->infos == 2);     // "nope" and "g.other"
  CHECK(sink->warnings == 2);  // "_id" and "a..b"
}

TEST_CASE("dotted keys become nested objects, merged into what is there") {
  auto doc = parseJson(R"({"file":{"owner":"x"},"file.group":"y","a.b.c":1,"a.b":{"d":2},"k":{"x.y":3},"bad..key":4})");
  CHECK(mapper::expandDottedKeys(doc, doc.GetAllocator()));
  CHECK(testing::pretty(doc) == testing::pretty(parseJson(R"({"file":{"owner":"x","group":"y"},"k":{"x":{"y":3}},"bad..key":4,"a":{"b":{"c":1,"d":2}}})")));
  auto plain = parseJson(R"({"a":{"b":1}})");
  CHECK_FALSE(mapper::expandDottedKeys(plain, plain.GetAllocator()));
}

TEST_CASE("processors: a filter may drop an event, add dotted keys, rename and remove fields") {
  core::Metrics metrics;
  FunctionFilter filter([](rapidjson::Document& doc, std::size_t module) {
    auto& a = doc.GetAllocator();
    if (std::string(doc["file"]["path"].GetString()) == "/tmp/drop-me") return false;
    CHECK(module == 0);
    set(doc, "fields.team", rapidjson::Value("ops"));
    set(doc, "labels.env", rapidjson::Value("prod"));
    set(doc, "file.owner", rapidjson::Value(1000));  // a number for a keyword: coerced
    set(doc, "file.size", rapidjson::Value("12"));    // a string for a long: coerced
    set(doc, "host.ip", rapidjson::Value("not-an-ip"));  // replaces the array; invalid: dropped
    set(doc, "custom.field", rapidjson::Value(true));    // undeclared: sent as it is
    rapidjson::Value name;  // rename host.name → host.hostname
    name.CopyFrom(doc["host"]["name"], a);
    doc["host"].RemoveMember("name");
    doc["host"].RemoveMember("hostname");
    doc["host"].AddMember("hostname", name, a);
    doc.RemoveMember("tags");
    doc.RemoveMember("@timestamp");  // restored: a data stream needs it
    return true;
  });
  mapper::DocumentBuilder builder(testing::testConfig(), metrics, &filter);
  CHECK_FALSE(builder.map(testing::enrichedEvent({events::Action::Created}, testing::regularFile("/tmp/drop-me", 1))));
  CHECK(metrics.counter("mapper.events.dropped").value() == 1);

  auto encoded = builder.map(testing::enrichedEvent({events::Action::Created}, testing::regularFile("/tmp/keep", 1)));
  REQUIRE(encoded);
  CHECK(encoded->json.rfind("{\"@timestamp\":\"2022-04-20T09:02:19.365Z\"", 0) == 0);
  auto doc = parseJson(encoded->json);
  CHECK(std::string(doc["fields"]["team"].GetString()) == "ops");
  CHECK(std::string(doc["labels"]["env"].GetString()) == "prod");
  CHECK(std::string(doc["file"]["owner"].GetString()) == "1000");
  CHECK(doc["file"]["size"].GetInt64() == 12);
  CHECK(std::string(doc["file"]["path"].GetString()) == "/tmp/keep");  // the rest of file.* is intact
  CHECK_FALSE(doc["host"].HasMember("ip"));
  CHECK_FALSE(doc["host"].HasMember("name"));
  CHECK(std::string(doc["host"]["hostname"].GetString()) == "docker-fleet-agent");
  CHECK_FALSE(doc.HasMember("tags"));
  CHECK(doc["custom"]["field"].GetBool());
  CHECK_FALSE(doc.HasMember("fields.team"));
  CHECK(metrics.counter("mapper.fields.undeclared").value() == 1);
  CHECK(metrics.counter("mapper.fields.invalid").value() == 1);
}

TEST_CASE("keep_null is per module") {
  core::Metrics metrics;
  FunctionFilter filter([](rapidjson::Document& doc, std::size_t) {
    set(doc, "file.owner", rapidjson::Value());
    return true;
  });
  auto config = testing::testConfig(false);
  config.modules.emplace_back();
  config.modules.back().keepNull = true;
  mapper::DocumentBuilder builder(config, metrics, &filter);
  auto event = testing::enrichedEvent({events::Action::Created}, testing::regularFile("/tmp/x", 1));
  CHECK_FALSE(parseJson(builder.build(event))["file"].HasMember("owner"));
  event.event.module = 1;
  auto doc = parseJson(builder.build(event));
  REQUIRE(doc["file"].HasMember("owner"));
  CHECK(doc["file"]["owner"].IsNull());
}

TEST_CASE("a filter that leaves no object gives no document, counted") {
  core::Metrics metrics;
  FunctionFilter filter([](rapidjson::Document& doc, std::size_t) {
    doc.SetArray();
    return true;
  });
  mapper::DocumentBuilder builder(testing::testConfig(), metrics, &filter);
  CHECK_FALSE(builder.map(testing::enrichedEvent({events::Action::Created}, testing::regularFile("/tmp/x", 1))));
  CHECK(metrics.counter("mapper.events.invalid").value() == 1);
}

TEST_CASE("whatever a processor leaves, the output is well-formed JSON whose every leaf is declared and typed") {
  const auto& schema = mapper::builtinSchema();
  std::vector<std::string> names;  // declared paths, their parents and some strangers
  for (const auto* leaf : schema.leaves()) names.push_back(leaf->path());
  for (const char* extra : {"file", "host.os", "labels.team", "fields.a.b", "nope", "file.nope", "a..b", "\xff\xfe", "@timestamp"}) {
    names.emplace_back(extra);
  }
  std::uint64_t x = 0x9E3779B97F4A7C15ull;
  const auto next = [&] {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return x;
  };
  core::Metrics metrics;
  mapper::DocumentEncoder encoder(schema, metrics);
  rapidjson::StringBuffer out;
  std::function<rapidjson::Value(rapidjson::Document::AllocatorType&, int)> randomValue;
  randomValue = [&](rapidjson::Document::AllocatorType& a, int depth) -> rapidjson::Value {
    switch (next() % (depth > 2 ? 7 : 9)) {
      case 0: return rapidjson::Value();
      case 1: return rapidjson::Value(next() % 2 == 0);
      case 2: return rapidjson::Value(static_cast<std::int64_t>(next()));
      case 3: return rapidjson::Value(static_cast<double>(next() % 100000) / 7.0);
      case 4: return rapidjson::Value("2022-04-20T09:02:19.365Z", a);
      case 5: return rapidjson::Value("10.0.0.1", a);
      case 6: return rapidjson::Value("te\"xt\\\n\xff\x01", a);
      case 7: {
        rapidjson::Value array(rapidjson::kArrayType);
        for (int i = 0, n = static_cast<int>(next() % 4); i < n; ++i) array.PushBack(randomValue(a, depth + 1), a);
        return array;
      }
      default: {
        rapidjson::Value object(rapidjson::kObjectType);
        for (int i = 0, n = static_cast<int>(next() % 4); i < n; ++i) {
          const std::string& name = names[next() % names.size()];
          const std::string key = name.substr(name.rfind('.') == std::string::npos ? 0 : name.rfind('.') + 1);
          object.AddMember(rapidjson::Value(key.c_str(), a), randomValue(a, depth + 1), a);
        }
        return object;
      }
    }
  };
  std::size_t checked = 0;
  for (int round = 0; round < 2000; ++round) {
    rapidjson::Document doc;
    doc.SetObject();
    auto& a = doc.GetAllocator();
    for (int i = 0, n = static_cast<int>(next() % 12); i < n; ++i) {
      doc.AddMember(rapidjson::Value(names[next() % names.size()].c_str(), a), randomValue(a, 0), a);
    }
    mapper::expandDottedKeys(doc, a);
    const bool keepNull = round % 2 == 0;
    REQUIRE(encoder.encode(doc, keepNull, out));
    const std::string json(out.GetString(), out.GetSize());
    CAPTURE(json);
    auto parsed = parseJson(json);
    std::multimap<std::string, const rapidjson::Value*> leaves;
    testing::leaves(parsed, "", leaves);
    checked += leaves.size();
    for (const auto& [name, value] : leaves) {
      CAPTURE(name);
      const mapper::SchemaNode* node = schema.find(name);
      if (!node) {  // below an object field: labels.x, fields.a.b, container.labels.x
        for (auto dot = name.find('.'); dot != std::string::npos && (!node || node->isGroup()); dot = name.find('.', dot + 1)) {
          node = schema.find(name.substr(0, dot));
        }
        if (node && node->type() == FieldType::GeoPoint) continue;  // {lat, lon} kept as written: Elasticsearch checks it
        if (node && node->type() == FieldType::Object) {
          CHECK((value->IsString() || (keepNull && value->IsNull())));
          continue;
        }
        // Undeclared: sent as written, for dynamic mapping; never below a declared leaf.
        CHECK((!node || node->isGroup()));
        CHECK((!value->IsNull() || keepNull));
        continue;
      }
      if (value->IsNull()) {
        CHECK(keepNull);
        continue;
      }
      REQUIRE_FALSE(node->isGroup());
      if (mapper::isStringType(node->type()) || node->type() == FieldType::Date || node->type() == FieldType::Ip ||
          node->type() == FieldType::Object) {
        REQUIRE(value->IsString());
        CHECK(core::isValidUtf8(std::string_view(value->GetString(), value->GetStringLength())));
        if (node->type() == FieldType::Date) CHECK(mapper::isIsoDate(value->GetString()));
        if (node->type() == FieldType::Ip) CHECK(mapper::isIpAddress(value->GetString()));
      } else if (mapper::isIntegerType(node->type())) {
        CHECK((value->IsInt64() || value->IsUint64()));
      } else if (node->type() == FieldType::Boolean) {
        CHECK(value->IsBool());
      }
    }
  }
  CHECK(checked > 3000);  // the random documents did reach the schema's leaves
  CHECK(metrics.counter("mapper.fields.undeclared").value() > 0);
  CHECK(metrics.counter("mapper.fields.invalid").value() > 0);
}
