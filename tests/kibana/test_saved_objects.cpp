#include <doctest/doctest.h>

#include <set>

#include <simdjson.h>

#include "kibana/dashboard_loader.h"
#include "kibana/object_encoder.h"
#include "kibana/saved_object.h"
#include "support/temp_dir.h"

using namespace fim::kibana;
using fim::testing::TempDir;

namespace {

std::string object(const std::string& type, const std::string& id, const std::string& refs, const std::string& attributes = "") {
  return R"({"type":")" + type + R"(","id":")" + id + R"(","attributes":{"title":"T )" + id + "\"" +
         (attributes.empty() ? "" : "," + attributes) + R"(},"references":[)" + refs + "]}";
}

std::string ref(const std::string& type, const std::string& id) {
  return R"({"name":"n","type":")" + type + R"(","id":")" + id + R"("})";
}

std::vector<std::string> keys(const std::vector<ObjectFile>& objects) {
  std::vector<std::string> out;
  for (const auto& o : objects) out.push_back(o.type + "/" + o.id);
  return out;
}

// Two dashboards that link to each other and to themselves, lenses sharing a data view, a search.
void writeTree(const TempDir& dir) {
  dir.write("index-pattern/dv.json", object("index-pattern", "dv", "", R"("timeFieldName":"@timestamp")"));
  dir.write("lens/l1.json", object("lens", "l1", ref("index-pattern", "dv")));
  dir.write("lens/l2.json", object("lens", "l2", ref("index-pattern", "dv")));
  dir.write("search/s.json", object("search", "s", ref("index-pattern", "dv")));
  dir.write("dashboard/a.json", object("dashboard", "a",
                                       ref("lens", "l1") + "," + ref("dashboard", "a") + "," + ref("dashboard", "b") + "," + ref("search", "s")));
  dir.write("dashboard/b.json", object("dashboard", "b", ref("lens", "l2") + "," + ref("dashboard", "a") + "," + ref("search", "s")));
}

}  // namespace

TEST_CASE("referenced objects come before the objects that reference them, each once, self-references skipped") {
  TempDir dir;
  writeTree(dir);
  auto objects = collectObjects(dir.str(), {});
  REQUIRE(objects.has_value());
  CHECK(keys(*objects) == std::vector<std::string>{"index-pattern/dv", "lens/l1", "lens/l2", "search/s", "dashboard/b", "dashboard/a"});
  CHECK((*objects)[5].title == "T a");
}

TEST_CASE("only_dashboards leaves the data view out, only_index sends only data views, --id one dashboard") {
  TempDir dir;
  writeTree(dir);
  Selection noDataView;
  noDataView.dataViews = false;
  CHECK(keys(*collectObjects(dir.str(), noDataView)) ==
        std::vector<std::string>{"lens/l1", "lens/l2", "search/s", "dashboard/b", "dashboard/a"});
  Selection onlyIndex;
  onlyIndex.dashboards = false;
  CHECK(keys(*collectObjects(dir.str(), onlyIndex)) == std::vector<std::string>{"index-pattern/dv"});
  Selection one;
  one.dashboardId = "b";
  CHECK(keys(*collectObjects(dir.str(), one)) ==
        std::vector<std::string>{"index-pattern/dv", "lens/l2", "lens/l1", "search/s", "dashboard/a", "dashboard/b"});
  one.dashboardId = "nope";
  auto missing = collectObjects(dir.str(), one);
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().message().find("no dashboard \"nope\"") != std::string::npos);
}

TEST_CASE("a missing referenced object is an error naming the file, a missing data view is left to Kibana") {
  TempDir dir;
  dir.write("dashboard/a.json", object("dashboard", "a", ref("index-pattern", "elsewhere") + "," + ref("lens", "gone")));
  auto result = collectObjects(dir.str(), {});
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().message().find("references lens gone") != std::string::npos);
  CHECK(result.error().message().find("lens/gone.json does not exist") != std::string::npos);
  dir.write("lens/gone.json", object("lens", "other", ""));
  result = collectObjects(dir.str(), {});
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().message().find("holds lens other") != std::string::npos);
  dir.write("lens/gone.json", object("lens", "gone", ""));
  CHECK(keys(*collectObjects(dir.str(), {})) == std::vector<std::string>{"lens/gone", "dashboard/a"});
  dir.write("dashboard/a.json", object("dashboard", "a", ref("lens", "../x")));
  CHECK_FALSE(collectObjects(dir.str(), {}).has_value());
}

TEST_CASE("string replacements apply to the text before it is read") {
  TempDir dir;
  dir.write("dashboard/a.json", object("dashboard", "a", "", R"("description":"on CHANGEME_HOSTNAME")"));
  Selection selection;
  selection.replacements = {{"CHANGEME_HOSTNAME", "web-01"}};
  auto objects = collectObjects(dir.str(), selection);
  REQUIRE(objects.has_value());
  CHECK((*objects)[0].text.find("on web-01") != std::string::npos);
}

TEST_CASE("attributes Kibana stores as JSON strings are encoded, the rest is kept as it is") {
  ObjectFile dashboard;
  dashboard.path = "d.json";
  dashboard.type = "dashboard";
  dashboard.text = R"({"type":"dashboard","id":"d","attributes":{"title":"D","panelsJSON":[{"panelIndex":"1","gridData":{"x":0}}],
    "optionsJSON":{"useMargins":true},"kibanaSavedObjectMeta":{"searchSourceJSON":{"query":{"query":"a : \"b\"","language":"kuery"}}},
    "controlGroupInput":{"controlStyle":"oneLine","panelsJSON":{"c":{"order":0}},"ignoreParentSettingsJSON":{"ignoreFilters":false}},
    "timeRestore":true,"refreshInterval":{"pause":true,"value":0}},"references":[],"coreMigrationVersion":"8.8.0"})";
  auto line = encodeObject(dashboard, {});
  REQUIRE(line.has_value());
  CHECK(line->find('\n') == std::string::npos);
  simdjson::dom::parser parser;
  simdjson::dom::element root = parser.parse(*line).value();
  auto attributes = root["attributes"];
  CHECK(std::string_view(attributes["panelsJSON"].get_string().value()) == R"([{"panelIndex":"1","gridData":{"x":0}}])");
  CHECK(std::string_view(attributes["optionsJSON"].get_string().value()) == R"({"useMargins":true})");
  CHECK(std::string_view(attributes["kibanaSavedObjectMeta"]["searchSourceJSON"].get_string().value()) ==
        R"({"query":{"query":"a : \"b\"","language":"kuery"}})");
  CHECK(std::string_view(attributes["controlGroupInput"]["panelsJSON"].get_string().value()) == R"({"c":{"order":0}})");
  CHECK(std::string_view(attributes["controlGroupInput"]["ignoreParentSettingsJSON"].get_string().value()) == R"({"ignoreFilters":false})");
  CHECK(std::string_view(attributes["controlGroupInput"]["controlStyle"].get_string().value()) == "oneLine");
  CHECK(attributes["refreshInterval"].is_object());
  CHECK(attributes["timeRestore"].get_bool().value());
  CHECK(std::string_view(root["coreMigrationVersion"].get_string().value()) == "8.8.0");
}

TEST_CASE("an attribute already encoded stays a string, lens state stays an object, a data view takes the configured title") {
  ObjectFile lens{"l.json", "lens", "l", "", {}, R"({"type":"lens","id":"l","attributes":{"title":"L","state":{"query":{"query":""}},
    "visState":"{\"a\":1}"},"references":[]})"};
  simdjson::dom::parser parser;
  auto line = encodeObject(lens, {"ignored-*"});
  REQUIRE(line.has_value());
  simdjson::dom::element root = parser.parse(*line).value();
  CHECK(root["attributes"]["state"].is_object());
  CHECK(std::string_view(root["attributes"]["visState"].get_string().value()) == R"({"a":1})");
  CHECK(std::string_view(root["attributes"]["title"].get_string().value()) == "L");
  ObjectFile view{"v.json", "index-pattern", "v", "", {}, R"({"type":"index-pattern","id":"v","attributes":{"title":"logs-fim.event-*","n":[1.5,-2,null]}})"};
  line = encodeObject(view, {"logs-fim.other-*"});
  REQUIRE(line.has_value());
  CHECK(*line == R"({"type":"index-pattern","id":"v","attributes":{"title":"logs-fim.other-*","n":[1.5,-2,null]}})");
}

TEST_CASE("the shipped kibana/ folder: every object in the import, references first, every line valid JSON") {
  fim::config::DashboardsConfig dashboards;
  dashboards.directory = std::string(FIM_SOURCE_DIR) + "/kibana";
  auto plan = planImport(dashboards, "logs-fim.event-*");
  REQUIRE(plan.has_value());
  CHECK(plan->objects.size() == 19);
  std::set<std::string> before;
  simdjson::dom::parser parser;
  for (std::size_t i = 0; i < plan->objects.size(); ++i) {
    const auto& o = plan->objects[i];
    INFO(o.type << " " << o.id);
    CHECK(o.id.starts_with("fimbeat-"));
    if (o.type != "index-pattern") CHECK(o.title.starts_with("[fimbeat] "));  // a data view's title is its pattern
    for (const auto& r : o.references) {
      CHECK((before.contains(r.type + "/" + r.id) || r.id == o.id));
    }
    before.insert(o.type + "/" + o.id);
    CHECK_FALSE(parser.parse(plan->lines[i]).error());
  }
  CHECK(plan->objects.front().type == "index-pattern");
  CHECK(plan->objects.back().type == "dashboard");
}
