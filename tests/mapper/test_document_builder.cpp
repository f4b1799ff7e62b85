#include <doctest/doctest.h>

#include "core/entity_id.h"

#include <filesystem>
#include <map>
#include <set>

#include <yaml-cpp/yaml.h>

#include "core/metrics.h"
#include "core/time_format.h"
#include "mapper/document_builder.h"
#include "mapper/file_fields.h"
#include "mapper/schema.h"
#include "mapper_fixtures.h"

using namespace fim;
using testing::enrichedEvent;
using testing::parseJson;

namespace {

const std::string kGoldenDir = testing::kSourceDir + "/tests/mapper/golden";
const std::string kEcsPath = testing::kSourceDir + "/tests/data/ecs_flat.yml";

// fields.yml read straight with yaml-cpp (not through Schema), flattened to "a.b.c" → attribute.
void flattenFields(const YAML::Node& fields, const std::string& prefix, std::map<std::string, std::string>& out,
                   const char* attribute) {
  for (const auto& f : fields) {
    const std::string name = prefix + f["name"].as<std::string>();
    const std::string type = f["type"] ? f["type"].as<std::string>() : "keyword";
    if (type == "group") {
      flattenFields(f["fields"], name + ".", out, attribute);
    } else {
      out[name] = f[attribute] ? f[attribute].as<std::string>() : "";
      if (type == "nested") flattenFields(f["fields"], name + ".", out, attribute);
    }
  }
}

std::map<std::string, std::string> declaredFields(const char* attribute = "type") {
  std::map<std::string, std::string> out;
  for (const auto& entry : YAML::LoadFile(testing::kSourceDir + "/fields/fields.yml")) {
    flattenFields(entry["fields"], "", out, attribute);
  }
  return out;
}

bool typeFits(const std::string& declared, const rapidjson::Value& v) {
  static const std::set<std::string> kStringTypes{"keyword", "constant_keyword", "wildcard", "match_only_text", "text",
                                                  "date", "ip"};
  if (v.IsString()) return kStringTypes.count(declared) > 0;
  if (v.IsInt64() || v.IsUint64()) return declared == "long" || declared == "integer" || declared == "unsigned_long";
  if (v.IsBool()) return declared == "boolean";
  if (v.IsNumber()) return declared == "float" || declared == "double" || declared == "scaled_float";
  return false;
}

// Documents covering every field fimbeat fills: the golden cases plus one with every hash,
// attribute and security label changed.
std::vector<std::string> allDocuments() {
  core::Metrics metrics;
  mapper::DocumentBuilder builder(testing::testConfig(), metrics);
  std::vector<std::string> docs;
  for (const auto& [name, event] : testing::goldenEvents()) docs.push_back(builder.build(event));
  auto full = enrichedEvent({events::Action::Updated, events::Action::AttributesModified}, testing::regularFile("/usr/bin/tool.tar.gz", 10));
  for (auto t : events::allHashTypes()) full.event.file.hashes[t] = "00ff";
  full.event.file.setuid = true;
  full.event.file.setgid = true;
  full.event.file.selinux = "system_u:object_r:bin_t:s0";
  full.event.file.acl = "user::rwx,user:1000:r--,group::r-x,mask::r-x,other::r-x";
  full.event.previous = full.event.file;
  full.event.changedAttributes = {"type", "size", "inode", "uid", "gid", "owner", "group", "mode", "setuid", "setgid",
                                  "mtime", "ctime", "target_path", "mime_type", "selinux", "acl"};
  for (auto t : events::allHashTypes()) full.event.changedAttributes.push_back(std::string("hash.") + events::toString(t));
  full.event.previous->targetPath = "/old/target";
  full.event.previousPath = "/usr/bin/tool.old.tar.gz";
  full.event.process = testing::editorProcess();
  full.event.process->startTime = core::TimePoint(std::chrono::nanoseconds(1'650'440'000'010'000'000LL));
  full.event.errorMessage = "failed to hash: Input/output error";
  full.event.package = events::PackageVerdict{"tool", "1.0-1", "amd64", false, true, true};
  full.event.approval = events::ApprovalMark{"7f3a9c1e", "CHG-1234", core::TimePoint(std::chrono::seconds(1'796'000'000))};
  auto meta = std::make_shared<events::Metadata>(*testing::fullMetadata());
  meta->cloud->instanceName = "web-1";
  meta->cloud->projectId = "proj-1";
  full.metadata = meta;
  docs.push_back(builder.build(full));
  auto exited = full;
  exited.event.process->exited = true;
  docs.push_back(builder.build(exited));
  return docs;
}

}  // namespace

TEST_CASE("timestamps are ISO-8601 UTC with milliseconds") {
  CHECK(core::formatTimestamp(testing::fixedTime()) == "2022-04-20T09:02:19.365Z");
  CHECK(core::formatTimestamp(core::TimePoint(std::chrono::milliseconds(0))) == "1970-01-01T00:00:00.000Z");
}

TEST_CASE("each action's document matches its golden file exactly") {
  core::Metrics metrics;
  mapper::DocumentBuilder builder(testing::testConfig(), metrics);
  const bool update = testing::envSet("FIM_UPDATE_GOLDEN");
  for (const auto& [name, event] : testing::goldenEvents()) {
    CAPTURE(name);
    const std::string json = builder.build(event);
    CHECK(json.rfind("{\"@timestamp\":\"2022-04-20T09:02:19.365Z\",", 0) == 0);  // @timestamp first
    const std::string got = testing::pretty(parseJson(json));
    const std::string path = kGoldenDir + "/" + name + ".json";
    if (update) testing::writeFile(path, got);
    REQUIRE_MESSAGE(std::filesystem::exists(path), path << " is missing; run with FIM_UPDATE_GOLDEN=1 to write it");
    CHECK(got == testing::readFile(path));
  }
  CHECK(metrics.counter("mapper.fields.undeclared").value() == 0);
  CHECK(metrics.counter("mapper.fields.invalid").value() == 0);
}

TEST_CASE("data_stream.* is the one of the configuration that queued the event, when the queue kept it") {
  core::Metrics metrics;
  mapper::DocumentBuilder builder(testing::testConfig(), metrics);
  auto event = enrichedEvent({events::Action::Created}, testing::regularFile("/tmp/x", 1));
  event.event.delivery = std::make_shared<const events::DeliverySettings>(
      events::DeliverySettings{"logs-fim.event-older", "logs", "fim.event", "older"});
  auto doc = parseJson(builder.build(event));
  CHECK(std::string(doc["data_stream"]["namespace"].GetString()) == "older");
  CHECK(std::string(doc["data_stream"]["type"].GetString()) == "logs");
  auto encoded = builder.map(event);
  REQUIRE(encoded.has_value());
  CHECK(encoded->delivery == event.event.delivery);  // the output writes it to that generation's index
}

TEST_CASE("a document has the sample event's shape: nested objects, arrays for event.type/action/category") {
  core::Metrics metrics;
  mapper::DocumentBuilder builder(testing::testConfig(), metrics);
  auto doc = parseJson(builder.build(enrichedEvent({events::Action::InitialScan}, testing::regularFile("/tmp/done", 0))));
  CHECK(std::string(doc["event"]["kind"].GetString()) == "event");
  CHECK(std::string(doc["event"]["category"][0].GetString()) == "file");
  CHECK(std::string(doc["event"]["type"][0].GetString()) == "info");
  CHECK(std::string(doc["event"]["action"][0].GetString()) == "initial_scan");
  CHECK(std::string(doc["event"]["module"].GetString()) == "file_integrity");
  CHECK(std::string(doc["event"]["dataset"].GetString()) == "fim.event");
  CHECK(std::string(doc["ecs"]["version"].GetString()) == mapper::kEcsVersion);
  CHECK(std::string(doc["service"]["type"].GetString()) == "file_integrity");
  CHECK(std::string(doc["data_stream"]["type"].GetString()) == "logs");
  CHECK(std::string(doc["data_stream"]["dataset"].GetString()) == "fim.event");
  CHECK(std::string(doc["data_stream"]["namespace"].GetString()) == "ep");
  CHECK(doc["file"]["size"].GetUint64() == 0);
  CHECK(std::string(doc["agent"]["id"].GetString()) == "7e061f66-bf86-41e2-858d-d5cbe22e06b1");
  CHECK(std::string(doc["host"]["os"]["kernel"].GetString()) == "6.1.0-18-amd64");
  CHECK(doc["host"]["ip"].Size() == 2);
  CHECK(std::string(doc["cloud"]["instance"]["id"].GetString()) == "i-0123456789abcdef0");
  CHECK_FALSE(doc["cloud"]["instance"].HasMember("name"));  // empty: left out
  CHECK_FALSE(doc["cloud"].HasMember("project"));
  CHECK(std::string(doc["tags"][1].GetString()) == "production");
  for (const char* absent : {"error", "process", "user", "group", "container", "event.kind"}) {
    CAPTURE(absent);
    CHECK_FALSE(doc.HasMember(absent));  // no process info, no error; never dotted keys
  }
}

TEST_CASE("process, user, group and container come from the process that made the change") {
  core::Metrics metrics;
  mapper::DocumentBuilder builder(testing::testConfig(), metrics);
  auto e = enrichedEvent({events::Action::Updated}, testing::regularFile("/etc/hosts", 1));
  e.event.process = testing::editorProcess();
  e.event.process->userId = 1000;
  e.event.process->groupId = 100;
  auto doc = parseJson(builder.build(e));
  CHECK(doc["process"]["pid"].GetInt64() == 4242);
  CHECK(doc["process"]["parent"]["pid"].GetInt64() == 4200);
  CHECK(doc["process"]["args_count"].GetInt64() == 2);
  CHECK(std::string(doc["process"]["args"][1].GetString()) == "/etc/hosts");
  CHECK(std::string(doc["user"]["id"].GetString()) == "1000");  // ECS types ids as keywords
  CHECK(std::string(doc["group"]["id"].GetString()) == "100");
  CHECK(std::string(doc["container"]["runtime"].GetString()) == "docker");
  CHECK_FALSE((doc.HasMember("file_integrity") && doc["file_integrity"].HasMember("process")));

  e.event.process = events::ProcessInfo{.pid = 99, .exited = true};
  doc = parseJson(builder.build(e));
  CHECK(doc["process"]["pid"].GetInt64() == 99);
  CHECK_FALSE(doc["process"].HasMember("name"));
  CHECK(doc["file_integrity"]["process"]["exited"].GetBool());
  CHECK_FALSE(doc.HasMember("user"));
}

TEST_CASE("package verification: package.* and the verdict, package_conffile only when true") {
  core::Metrics metrics;
  mapper::DocumentBuilder builder(testing::testConfig(), metrics);
  auto e = enrichedEvent({events::Action::Updated}, testing::regularFile("/usr/bin/tool", 1));
  auto doc = parseJson(builder.build(e));
  CHECK_FALSE(doc.HasMember("package"));  // no package owns it
  e.event.package = events::PackageVerdict{"tool", "1.0-1", "amd64", false, false, false};
  doc = parseJson(builder.build(e));
  CHECK(std::string(doc["package"]["name"].GetString()) == "tool");
  CHECK(std::string(doc["package"]["version"].GetString()) == "1.0-1");
  CHECK(std::string(doc["package"]["architecture"].GetString()) == "amd64");
  CHECK(doc["file_integrity"]["package_verified"].IsFalse());
  CHECK_FALSE(doc["file_integrity"].HasMember("package_conffile"));
  CHECK_FALSE(doc["file_integrity"].HasMember("change_source"));
  e.event.package = events::PackageVerdict{"tool", "1.0-1", "amd64", std::nullopt, true, true};
  doc = parseJson(builder.build(e));
  CHECK_FALSE(doc["file_integrity"].HasMember("package_verified"));
  CHECK(doc["file_integrity"]["package_conffile"].IsTrue());
  CHECK(std::string(doc["file_integrity"]["change_source"].GetString()) == "package_manager");
}

TEST_CASE("process.entity_id and process.start: Beats' hash of host.id, pid and start time, for live events") {
  core::Metrics metrics;
  mapper::DocumentBuilder builder(testing::testConfig(), metrics);
  auto e = enrichedEvent({events::Action::Updated}, testing::regularFile("/etc/hosts", 1));
  auto meta = std::make_shared<events::Metadata>(*testing::fullMetadata());
  meta->host.id = "4a0cbe3f2e7a4c2bb1c9d3e8f0a1b2c3";
  e.metadata = meta;
  e.event.process = testing::editorProcess();
  e.event.process->startTime = core::processStartTime(1'700'000'000, 201);
  auto doc = parseJson(builder.build(e));
  // Computed independently (see tests/core/test_entity_id.cpp).
  CHECK(std::string(doc["process"]["entity_id"].GetString()) == "Cg2TPSFj2PLrPu7w");
  CHECK(std::string(doc["process"]["start"].GetString()) == "2023-11-14T22:13:22.009Z");

  e.event.process->startTime.reset();  // an exited process whose start /proc no longer told
  doc = parseJson(builder.build(e));
  CHECK_FALSE(doc["process"].HasMember("entity_id"));
  CHECK_FALSE(doc["process"].HasMember("start"));
}

TEST_CASE("stale digests (the file changed while unreadable) are never shown as a file's digests") {
  core::Metrics metrics;
  mapper::DocumentBuilder builder(testing::testConfig(), metrics);
  auto e = enrichedEvent({events::Action::AttributesModified}, testing::regularFile("/etc/shadow", 900));
  e.event.file.hashesStale = true;
  e.event.errorMessage = "failed to hash /etc/shadow: Permission denied";
  e.event.previous = testing::regularFile("/etc/shadow", 800);
  e.event.changedAttributes = {"size"};
  auto doc = parseJson(builder.build(e));
  CHECK(doc["file"]["size"].GetInt64() == 900);
  CHECK_FALSE(doc["file"].HasMember("hash"));
  CHECK(doc["file_integrity"]["previous"]["size"].GetInt64() == 800);

  auto deleted = enrichedEvent({events::Action::Deleted}, testing::regularFile("/etc/shadow", 900));
  deleted.event.file.hashesStale = true;
  doc = parseJson(builder.build(deleted));
  CHECK(doc["file_integrity"]["previous"]["size"].GetInt64() == 900);
  CHECK_FALSE(doc["file_integrity"]["previous"].HasMember("hash"));
  deleted.event.file.hashesStale = false;
  doc = parseJson(builder.build(deleted));
  CHECK(doc["file_integrity"]["previous"].HasMember("hash"));
}

TEST_CASE("several actions map to distinct event types in order") {
  core::Metrics metrics;
  mapper::DocumentBuilder builder(testing::testConfig(), metrics);
  events::FileInfo dir;
  dir.path = "/etc";
  dir.type = events::FileType::Dir;
  auto doc = parseJson(builder.build(enrichedEvent({events::Action::Updated, events::Action::AttributesModified, events::Action::ConfigChange}, dir)));
  CHECK(doc["event"]["action"].Size() == 3);
  CHECK(std::string(doc["event"]["action"][1].GetString()) == "attributes_modified");
  CHECK(doc["event"]["type"].Size() == 1);
  CHECK(std::string(doc["event"]["type"][0].GetString()) == "change");
  CHECK_FALSE(doc["file"].HasMember("size"));  // size only for regular files
}

TEST_CASE("a path that is not UTF-8 still gives valid JSON, bad bytes become U+FFFD") {
  core::Metrics metrics;
  mapper::DocumentBuilder builder(testing::testConfig(), metrics);
  auto doc = parseJson(builder.build(enrichedEvent({events::Action::Created}, testing::regularFile("/srv/bad\xff.txt", 1))));
  CHECK(std::string(doc["file"]["path"].GetString()) == "/srv/bad\xEF\xBF\xBD.txt");
  CHECK(std::string(doc["file"]["name"].GetString()) == "bad\xEF\xBF\xBD.txt");
}

TEST_CASE("every emitted field is declared in fields.yml with a type that fits its value") {
  const auto declared = declaredFields();
  std::set<std::string> emitted;
  for (const auto& json : allDocuments()) {
    auto doc = parseJson(json);
    std::multimap<std::string, const rapidjson::Value*> values;
    testing::leaves(doc, "", values);
    for (const auto& [name, value] : values) {
      CAPTURE(name);
      REQUIRE(declared.count(name) == 1);
      CHECK(typeFits(declared.at(name), *value));
      emitted.insert(name);
    }
  }
  for (const char* name : {"error.message", "file.size", "file.hash.xxh64", "file.setuid", "file.mtime",
                           "file.target_path", "file_integrity.previous.hash.sha3_512", "file_integrity.previous.setgid",
                           "file_integrity.previous.target_path", "file_integrity.previous.path", "file_integrity.acl",
                           "file_integrity.changed_attributes", "file_integrity.process.exited", "process.parent.pid",
                           "package.name", "package.version", "package.architecture", "file_integrity.package_verified",
                           "file_integrity.package_conffile", "file_integrity.change_source",
                           "user.name", "group.id", "container.id", "cloud.instance.name", "cloud.service.name",
                           "host.os.codename", "host.containerized", "host.mac", "agent.ephemeral_id", "ecs.version",
                           "data_stream.namespace", "service.type"}) {
    CAPTURE(name);
    CHECK(emitted.count(name) == 1);
  }
}

TEST_CASE("fields.yml agrees with ECS on every ECS field, and documents use ECS's types, arrays and allowed values") {
  REQUIRE_MESSAGE(std::filesystem::exists(kEcsPath), kEcsPath << " is part of the repository");
  const YAML::Node ecs = YAML::LoadFile(kEcsPath);
  const auto levels = declaredFields("level");
  const auto ignoreAbove = declaredFields("ignore_above");
  // Not ECS's types, on purpose: as the fim integration package maps them (both are keywords to a
  // query); the fractions Auditbeat's parser sends, which ECS's long would truncate (a variance to
  // 0); the arrays of strings it sends, which Elasticsearch refuses in ECS's flattened.
  const std::map<std::string, std::string> deliberate{
      {"event.module", "constant_keyword"},
      {"event.dataset", "constant_keyword"},
      {"file.elf.sections.entropy", "double"},
      {"file.elf.sections.var_entropy", "double"},
      {"file.elf.imports_names_entropy", "double"},
      {"file.elf.imports_names_var_entropy", "double"},
      {"file.elf.go_imports_names_entropy", "double"},
      {"file.elf.go_imports_names_var_entropy", "double"},
      {"file.elf.imports", "keyword"},
      {"file.elf.go_imports", "keyword"},
  };
  for (const auto& [name, type] : declaredFields()) {
    CAPTURE(name);
    if (deliberate.count(name)) {
      CHECK(type == deliberate.at(name));
      CHECK(ecs[name]["level"].as<std::string>() == levels.at(name));
    } else if (ecs[name]) {
      CHECK(ecs[name]["type"].as<std::string>() == type);
      CHECK(ecs[name]["level"].as<std::string>() == levels.at(name));
      CHECK((ecs[name]["ignore_above"] ? ecs[name]["ignore_above"].as<std::string>() : "") == ignoreAbove.at(name));
    } else {
      CHECK(levels.at(name) == "custom");  // not in ECS: must say it is fimbeat's (or Auditbeat's) own
    }
  }
  for (const auto& json : allDocuments()) {
    auto doc = parseJson(json);
    std::multimap<std::string, const rapidjson::Value*> values;
    testing::leaves(doc, "", values);
    for (const auto& [name, value] : values) {
      CAPTURE(name);
      if (!ecs[name]) continue;
      CHECK(typeFits(deliberate.count(name) ? deliberate.at(name) : ecs[name]["type"].as<std::string>(), *value));
      bool normalizedToArray = false;
      for (const auto& n : ecs[name]["normalize"]) normalizedToArray |= n.as<std::string>() == "array";
      if (normalizedToArray) {  // the value must sit in a JSON array
        const rapidjson::Value* at = &doc;
        std::size_t start = 0;
        for (std::size_t dot; (dot = name.find('.', start)) != std::string::npos; start = dot + 1) {
          at = &(*at)[name.substr(start, dot - start).c_str()];
        }
        CHECK((*at)[name.substr(start).c_str()].IsArray());
      }
      if (name == "event.kind" || name == "event.category" || name == "event.type") {
        std::set<std::string> allowed;
        for (const auto& v : ecs[name]["allowed_values"]) allowed.insert(v["name"].as<std::string>());
        CHECK(allowed.count(value->GetString()) == 1);
      }
    }
  }
}

TEST_CASE("file.elf.* is written for a present file only, each field as found") {
  core::Metrics metrics;
  mapper::DocumentBuilder builder(testing::testConfig(), metrics);
  auto e = enrichedEvent({events::Action::Updated}, testing::regularFile("/usr/bin/tool", 100));
  events::ElfInfo elf;
  elf.sections = std::vector<events::ElfSection>{{".text", {}, {}, {}, {}}, {{}, {}, {}, {}, {}}};
  elf.importHash = "d41d8cd98f00b204e9800998ecf8427e";
  elf.goStripped = true;
  e.event.elf = elf;
  auto doc = parseJson(builder.build(e));
  const auto& written = doc["file"]["elf"];
  CHECK(written.MemberCount() == 3);
  REQUIRE(written["sections"].Size() == 1);  // a section with nothing to say is left out
  CHECK(std::string(written["sections"][0]["name"].GetString()) == ".text");
  CHECK(written["go_stripped"].GetBool());
  e.event.actions = {events::Action::Deleted};
  CHECK_FALSE(parseJson(builder.build(e))["file"].HasMember("elf"));
  e.event.actions = {events::Action::Created};
  e.event.elf = events::ElfInfo{};
  CHECK_FALSE(parseJson(builder.build(e))["file"].HasMember("elf"));
  CHECK(metrics.counter("mapper.fields.undeclared").value() == 0);
}

TEST_CASE("metadata formats: mode, name, extension") {
  CHECK(mapper::formatMode(0644) == "0644");
  CHECK(mapper::formatMode(04755) == "0755");  // setuid is its own field
  CHECK(mapper::formatMode(0) == "0000");
  CHECK(mapper::formatMode(041777) == "0777");  // as Auditbeat: the sticky bit is file.sticky, not in file.mode
  CHECK(mapper::fileName("/etc/ssh/sshd_config") == "sshd_config");
  CHECK(mapper::fileName("/") == "");
  CHECK(mapper::fileExtension("/var/backups/db.tar.gz") == "gz");
  CHECK(mapper::fileExtension("/root/.bashrc") == "");
  CHECK(mapper::fileExtension("/etc/hosts") == "");
  CHECK(mapper::fileExtension("/tmp/trailing.") == "");
  CHECK(mapper::fileExtension("/a.d/file") == "");
}

TEST_CASE("a full document: strings for ids, octal mode, setuid only when set, ms timestamps, all hashes") {
  core::Metrics metrics;
  mapper::DocumentBuilder builder(testing::testConfig(), metrics);
  auto e = enrichedEvent({events::Action::AttributesModified}, testing::regularFile("/usr/bin/passwd", 59976));
  auto& f = e.event.file;
  f.mode = 04755;
  f.setuid = true;
  f.mtime = core::TimePoint(std::chrono::nanoseconds(1650445339361999999));
  e.event.changedAttributes = {"mode", "setuid"};
  e.event.previous = f;
  e.event.previous->mode = 0755;
  e.event.previous->setuid = false;
  auto doc = parseJson(builder.build(e));
  const auto& file = doc["file"];
  CHECK(std::string(file["inode"].GetString()) == "56198717");
  CHECK(std::string(file["uid"].GetString()) == "0");
  CHECK(std::string(file["gid"].GetString()) == "0");
  CHECK(std::string(file["mode"].GetString()) == "0755");
  CHECK(file["setuid"].GetBool());
  CHECK_FALSE(file.HasMember("setgid"));
  CHECK(std::string(file["mtime"].GetString()) == "2022-04-20T09:02:19.361Z");
  CHECK(std::string(file["ctime"].GetString()) == "2022-04-20T09:02:19.361Z");
  CHECK(std::string(file["hash"]["sha1"].GetString()) == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  CHECK(std::string(file["name"].GetString()) == "passwd");
  CHECK_FALSE(file.HasMember("extension"));
  const auto& fi = doc["file_integrity"];
  CHECK(fi["changed_attributes"].Size() == 2);
  CHECK(std::string(fi["previous"]["mode"].GetString()) == "0755");
  CHECK_FALSE(fi["previous"]["setuid"].GetBool());  // an old false is shown: it is what changed
  CHECK_FALSE(fi["previous"].HasMember("owner"));   // only what changed
}

TEST_CASE("the _id is deterministic: the same queued event gives the same id, any covered difference another") {
  core::Metrics metrics;
  mapper::DocumentBuilder first(testing::testConfig(), metrics);
  mapper::DocumentBuilder second(testing::testConfig(), metrics);  // e.g. after a restart
  const auto event = enrichedEvent({events::Action::Updated}, testing::regularFile("/etc/hosts", 1));
  const auto a = first.map(event);
  REQUIRE(a);
  CHECK(a->sequence == 17);
  CHECK(a->id.size() == 20);
  CHECK(a->id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == std::string::npos);
  CHECK(second.map(event)->id == a->id);
  // Pinned, computed independently with Python hashlib: changing the recipe would break dedup across an upgrade.
  CHECK(a->id == "wKXoc0P-wxo-ca0k5vok");

  auto other = event;
  other.event.sequence = 18;
  CHECK(first.map(other)->id != a->id);
  other = event;
  other.event.timestamp += std::chrono::nanoseconds(1);
  CHECK(first.map(other)->id != a->id);
  other = event;
  other.event.file.path = "/etc/hostname";
  CHECK(first.map(other)->id != a->id);
  other = event;
  other.event.actions = {events::Action::Updated, events::Action::AttributesModified};
  CHECK(first.map(other)->id != a->id);
  other = event;
  auto meta = std::make_shared<events::Metadata>(*event.metadata);
  meta->agent.id = "another-agent";
  other.metadata = meta;
  CHECK(first.map(other)->id != a->id);
  other = event;
  other.tags = {"not", "covered"};  // enrichment can change on redelivery; the id must not
  CHECK(first.map(other)->id == a->id);
}

TEST_CASE("mapBatch() maps every event of a batch in order and empties the batch") {
  core::Metrics metrics;
  mapper::DocumentBuilder builder(testing::testConfig(), metrics);
  std::vector<events::EnrichedEvent> batch;
  for (std::uint64_t i = 1; i <= 3; ++i) {
    auto e = enrichedEvent({events::Action::Created}, testing::regularFile("/tmp/f" + std::to_string(i), i));
    e.event.sequence = i;
    batch.push_back(std::move(e));
  }
  std::vector<events::EncodedEvent> got;
  builder.mapBatch(batch, got);
  CHECK(batch.empty());
  REQUIRE(got.size() == 3);
  CHECK(got[0].sequence == 1);
  CHECK(got[2].sequence == 3);
  CHECK(parseJson(got[2].json)["file"]["size"].GetInt() == 3);
  CHECK(metrics.counter("mapper.events").value() == 3);
}

TEST_CASE("declareMetrics registers exactly the counters a builder reports, at 0") {
  core::Metrics declared;
  mapper::DocumentBuilder::declareMetrics(declared);
  core::Metrics built;
  mapper::DocumentBuilder builder(testing::testConfig(), built);
  CHECK(declared.snapshot() == built.snapshot());
  CHECK_FALSE(declared.snapshot().empty());
  for (const auto& [name, value] : declared.snapshot()) {
    CAPTURE(name);
    CHECK(value == 0);
  }
}

TEST_CASE("file.mode is the permission bits, the sticky bit is file.sticky, as setuid and setgid are") {
  core::Metrics metrics;
  mapper::DocumentBuilder builder(testing::testConfig(), metrics);
  auto dir = enrichedEvent({events::Action::Created}, testing::regularFile("/tmp", 0));
  dir.event.file.mode = 01777;
  auto doc = parseJson(builder.build(dir));
  CHECK(std::string(doc["file"]["mode"].GetString()) == "0777");
  CHECK(doc["file"]["sticky"].GetBool());
  dir.event.file.mode = 0755;
  doc = parseJson(builder.build(dir));
  CHECK_FALSE(doc["file"].HasMember("sticky"));
}

TEST_CASE("the acting process's user and group are also process.user.* and process.group.*") {
  core::Metrics metrics;
  mapper::DocumentBuilder builder(testing::testConfig(), metrics);
  auto e = enrichedEvent({events::Action::Updated}, testing::regularFile("/etc/hosts", 1));
  e.event.process = testing::editorProcess();
  e.event.process->userId = 1000;
  e.event.process->userName = "alice";
  e.event.process->groupId = 100;
  e.event.process->groupName = "users";
  auto doc = parseJson(builder.build(e));
  CHECK(std::string(doc["process"]["user"]["id"].GetString()) == "1000");
  CHECK(std::string(doc["process"]["user"]["name"].GetString()) == "alice");
  CHECK(std::string(doc["process"]["group"]["id"].GetString()) == "100");
  CHECK(std::string(doc["process"]["group"]["name"].GetString()) == "users");
  CHECK(std::string(doc["user"]["name"].GetString()) == "alice");  // kept: ECS's user of the event
  CHECK(metrics.counter("mapper.fields.undeclared").value() == 0);
}

TEST_CASE("a deleted file's document has path, name and type, its last state is file_integrity.previous") {
  core::Metrics metrics;
  mapper::DocumentBuilder builder(testing::testConfig(), metrics);
  auto e = enrichedEvent({events::Action::Deleted}, testing::regularFile("/var/www/index.php", 3120));
  e.event.file.hashes[events::HashType::Sha1] = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
  auto doc = parseJson(builder.build(e));
  const auto& file = doc["file"];
  CHECK(file.MemberCount() == 3);
  CHECK(std::string(file["path"].GetString()) == "/var/www/index.php");
  CHECK(std::string(file["name"].GetString()) == "index.php");
  CHECK(std::string(file["type"].GetString()) == "file");
  const auto& previous = doc["file_integrity"]["previous"];
  CHECK(previous["size"].GetUint64() == 3120);
  CHECK(std::string(previous["hash"]["sha1"].GetString()) == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  CHECK(previous.HasMember("mode"));
  CHECK(previous.HasMember("owner"));
  CHECK_FALSE(previous.HasMember("type"));
  CHECK(metrics.counter("mapper.fields.undeclared").value() == 0);
}

TEST_CASE("a module's service.name is written as service.name") {
  core::Metrics metrics;
  auto config = testing::testConfig();
  config.modules.back().serviceName = "payroll";
  mapper::DocumentBuilder builder(config, metrics);
  auto doc = parseJson(builder.build(enrichedEvent({events::Action::Created}, testing::regularFile("/etc/a", 1))));
  CHECK(std::string(doc["service"]["name"].GetString()) == "payroll");
  CHECK(std::string(doc["service"]["type"].GetString()) == "file_integrity");
}

TEST_CASE("a change in an approved window carries file_integrity.approval: id, reason, expires in ISO-8601 UTC") {
  core::Metrics metrics;
  mapper::DocumentBuilder builder(testing::testConfig(), metrics);
  auto e = enrichedEvent({events::Action::Updated}, testing::regularFile("/etc/nginx/nginx.conf", 10));
  e.event.approval = events::ApprovalMark{"7f3a9c1e", "CHG-1234",
                                          core::TimePoint(std::chrono::milliseconds(1'796'000'000'123))};
  auto doc = parseJson(builder.build(e));
  const auto& approval = doc["file_integrity"]["approval"];
  CHECK(approval.MemberCount() == 3);
  CHECK(std::string(approval["id"].GetString()) == "7f3a9c1e");
  CHECK(std::string(approval["reason"].GetString()) == "CHG-1234");
  CHECK(std::string(approval["expires"].GetString()) == "2026-11-30T00:53:20.123Z");
  CHECK(metrics.counter("mapper.fields.undeclared").value() == 0);
  auto plain = parseJson(builder.build(enrichedEvent({events::Action::Updated}, testing::regularFile("/etc/a", 1))));
  CHECK_FALSE((plain.HasMember("file_integrity") && plain["file_integrity"].HasMember("approval")));
}
