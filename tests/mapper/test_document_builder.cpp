#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <set>

#include <rapidjson/document.h>
#include <yaml-cpp/yaml.h>

#include "core/metrics.h"
#include "mapper/document_builder.h"
#include "mapper/file_fields.h"
#include "core/time_format.h"

using namespace fim;

namespace {

const std::string kSourceDir = FIM_SOURCE_DIR;

core::EnrichedEvent sampleEvent(std::vector<core::Action> actions, core::FileInfo file) {
  core::EnrichedEvent e;
  e.event.timestamp = core::TimePoint(std::chrono::milliseconds(1650445339365));  // 2022-04-20T09:02:19.365Z
  e.event.actions = std::move(actions);
  e.event.file = std::move(file);
  e.metadata = std::make_shared<core::Metadata>(core::Metadata{.host = {.hostname = "docker-fleet-agent", .name = "docker-fleet-agent"}});
  e.tags = {"fim-event"};
  return e;
}

rapidjson::Document parse(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.c_str(), json.size());
  REQUIRE_FALSE(doc.HasParseError());
  return doc;
}

// fields.yml flattened to "a.b.c" → type (or level), groups expanded.
void flattenFields(const YAML::Node& fields, const std::string& prefix, std::map<std::string, std::string>& out,
                   const char* attribute) {
  for (const auto& f : fields) {
    const std::string name = prefix + f["name"].as<std::string>();
    const std::string type = f["type"] ? f["type"].as<std::string>() : "keyword";
    if (type == "group") {
      flattenFields(f["fields"], name + ".", out, attribute);
    } else {
      out[name] = f[attribute] ? f[attribute].as<std::string>() : "";
    }
  }
}

std::map<std::string, std::string> declaredFields(const char* attribute = "type") {
  std::map<std::string, std::string> out;
  for (const auto& entry : YAML::LoadFile(kSourceDir + "/fields/fields.yml")) {
    flattenFields(entry["fields"], "", out, attribute);
  }
  return out;
}

// Every leaf of a document as "a.b.c" → the JSON values there (array elements unrolled).
void leaves(const rapidjson::Value& v, const std::string& path, std::multimap<std::string, const rapidjson::Value*>& out) {
  if (v.IsObject()) {
    for (const auto& m : v.GetObject()) leaves(m.value, (path.empty() ? "" : path + ".") + m.name.GetString(), out);
  } else if (v.IsArray()) {
    for (const auto& item : v.GetArray()) leaves(item, path, out);
  } else {
    out.emplace(path, &v);
  }
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

std::vector<std::string> allDocuments() {
  core::Metrics metrics;
  mapper::DocumentBuilder builder(metrics);
  std::vector<std::string> docs;
  docs.push_back(builder.build(sampleEvent({core::Action::InitialScan}, {"/etc/passwd", core::FileType::File, 1234})));
  docs.push_back(builder.build(sampleEvent({core::Action::Updated, core::Action::AttributesModified},
                                           {"/etc", core::FileType::Dir, {}})));
  auto full = sampleEvent({core::Action::Updated, core::Action::AttributesModified}, {"/usr/bin/tool.tar.gz", core::FileType::File, 10});
  for (auto t : core::allHashTypes()) full.event.file.hashes[t] = "00ff";
  full.event.file.setuid = true;
  full.event.file.setgid = true;
  full.event.file.owner = "root";
  full.event.file.group = "root";
  full.event.file.mimeType = "application/gzip";
  full.event.file.selinux = "system_u:object_r:bin_t:s0";
  full.event.file.acl = "user::rwx,user:1000:r--,group::r-x,mask::r-x,other::r-x";
  full.event.previous = full.event.file;
  full.event.changedAttributes = {"type", "size", "inode", "uid", "gid", "owner", "group", "mode", "setuid", "setgid",
                                  "mtime", "target_path", "selinux", "acl"};
  for (auto t : core::allHashTypes()) full.event.changedAttributes.push_back(std::string("hash.") + core::toString(t));
  full.event.previous->targetPath = "/old/target";
  docs.push_back(builder.build(full));
  auto link = sampleEvent({core::Action::Created}, {"/etc/alternatives/editor", core::FileType::Symlink, {}});
  link.event.file.targetPath = "/usr/bin/vim.basic";
  docs.push_back(builder.build(link));
  auto error = sampleEvent({core::Action::Created}, {"/srv/bad\xff\xfe.txt", core::FileType::File, 0});
  error.event.errorMessage = "failed to read directory /srv: Permission denied";
  docs.push_back(builder.build(error));
  return docs;
}

}  // namespace

TEST_CASE("timestamps are ISO-8601 UTC with milliseconds") {
  CHECK(core::formatTimestamp(core::TimePoint(std::chrono::milliseconds(1650445339365))) == "2022-04-20T09:02:19.365Z");
  CHECK(core::formatTimestamp(core::TimePoint(std::chrono::milliseconds(0))) == "1970-01-01T00:00:00.000Z");
}

TEST_CASE("a document has the sample event's shape: nested objects, arrays for event.type/action/category") {
  core::Metrics metrics;
  mapper::DocumentBuilder builder(metrics);
  const std::string json = builder.build(sampleEvent({core::Action::InitialScan}, {"/tmp/done", core::FileType::File, 0}));
  CHECK(json.rfind("{\"@timestamp\":\"2022-04-20T09:02:19.365Z\",", 0) == 0);  // @timestamp first
  auto doc = parse(json);
  CHECK(std::string(doc["event"]["kind"].GetString()) == "event");
  CHECK(doc["event"]["category"].IsArray());
  CHECK(std::string(doc["event"]["category"][0].GetString()) == "file");
  CHECK(std::string(doc["event"]["type"][0].GetString()) == "info");
  CHECK(std::string(doc["event"]["action"][0].GetString()) == "initial_scan");
  CHECK(std::string(doc["event"]["module"].GetString()) == "file_integrity");
  CHECK(std::string(doc["event"]["dataset"].GetString()) == "fim.event");
  CHECK(std::string(doc["file"]["path"].GetString()) == "/tmp/done");
  CHECK(std::string(doc["file"]["type"].GetString()) == "file");
  CHECK(doc["file"]["size"].GetUint64() == 0);
  CHECK(std::string(doc["host"]["name"].GetString()) == "docker-fleet-agent");
  CHECK(std::string(doc["tags"][0].GetString()) == "fim-event");
  CHECK_FALSE(doc.HasMember("error"));
  CHECK_FALSE(doc.HasMember("event.kind"));  // never dotted keys
}

TEST_CASE("several actions map to distinct event types in order") {
  core::Metrics metrics;
  mapper::DocumentBuilder builder(metrics);
  auto doc = parse(builder.build(sampleEvent({core::Action::Updated, core::Action::AttributesModified, core::Action::ConfigChange},
                                             {"/etc", core::FileType::Dir, {}})));
  CHECK(doc["event"]["action"].Size() == 3);
  CHECK(std::string(doc["event"]["action"][1].GetString()) == "attributes_modified");
  CHECK(doc["event"]["type"].Size() == 1);
  CHECK(std::string(doc["event"]["type"][0].GetString()) == "change");
  CHECK_FALSE(doc["file"].HasMember("size"));  // size only for regular files
}

TEST_CASE("a path that is not UTF-8 still gives valid JSON, bad bytes become U+FFFD") {
  core::Metrics metrics;
  mapper::DocumentBuilder builder(metrics);
  auto doc = parse(builder.build(sampleEvent({core::Action::Created}, {"/srv/bad\xff.txt", core::FileType::File, 1})));
  CHECK(std::string(doc["file"]["path"].GetString()) == "/srv/bad\xEF\xBF\xBD.txt");
}

TEST_CASE("every emitted field is declared in fields.yml with a type that fits its value") {
  const auto declared = declaredFields();
  std::set<std::string> emitted;
  for (const auto& json : allDocuments()) {
    auto doc = parse(json);
    std::multimap<std::string, const rapidjson::Value*> values;
    leaves(doc, "", values);
    for (const auto& [name, value] : values) {
      CAPTURE(name);
      REQUIRE(declared.count(name) == 1);
      CHECK(typeFits(declared.at(name), *value));
      emitted.insert(name);
    }
  }
  for (const char* name : {"error.message", "file.size", "file.hash.xxh64", "file.setuid", "file.mtime",
                           "file.target_path", "file_integrity.previous.hash.sha3_512", "file_integrity.previous.setgid",
                           "file_integrity.previous.target_path", "file_integrity.acl", "file_integrity.changed_attributes"}) {
    CAPTURE(name);
    CHECK(emitted.count(name) == 1);
  }
}

TEST_CASE("fields.yml agrees with ECS on every ECS field, and documents use ECS's allowed values") {
  const std::string ecsPath = kSourceDir + "/../shared/reference/ecs_flat.yml";
  if (!std::filesystem::exists(ecsPath)) {
    MESSAGE("skipped: " << ecsPath << " is not beside this checkout");
    return;
  }
  const YAML::Node ecs = YAML::LoadFile(ecsPath);
  const auto levels = declaredFields("level");
  for (const auto& [name, type] : declaredFields()) {
    CAPTURE(name);
    if (ecs[name]) {
      CHECK(ecs[name]["type"].as<std::string>() == type);
      CHECK(levels.at(name) != "custom");
    } else {
      CHECK(levels.at(name) == "custom");  // not in ECS: must say it is fimbeat's (or Auditbeat's) own
    }
  }
  for (const auto& json : allDocuments()) {
    auto doc = parse(json);
    for (const char* field : {"kind", "category", "type"}) {
      std::set<std::string> allowed;
      for (const auto& v : ecs[std::string("event.") + field]["allowed_values"]) allowed.insert(v["name"].as<std::string>());
      const auto& value = doc["event"][field];
      std::vector<std::string> got;
      if (value.IsArray()) {
        for (const auto& v : value.GetArray()) got.emplace_back(v.GetString());
      } else {
        got.emplace_back(value.GetString());
      }
      for (const auto& g : got) {
        CAPTURE(g);
        CHECK(allowed.count(g) == 1);
      }
    }
  }
}

TEST_CASE("metadata formats: mode, name, extension") {
  CHECK(mapper::formatMode(0644) == "0644");
  CHECK(mapper::formatMode(04755) == "0755");  // setuid is its own field
  CHECK(mapper::formatMode(0) == "0000");
  CHECK(mapper::formatMode(041777) == "1777");  // the sticky bit shows; the file type bits do not
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
  mapper::DocumentBuilder builder(metrics);
  auto e = sampleEvent({core::Action::AttributesModified}, {"/usr/bin/passwd", core::FileType::File, 59976});
  auto& f = e.event.file;
  f.inode = 56198717;
  f.uid = 0;
  f.gid = 0;
  f.owner = "root";
  f.group = "root";
  f.mode = 04755;
  f.setuid = true;
  f.mtime = core::TimePoint(std::chrono::nanoseconds(1650445339361999999));
  f.ctime = core::TimePoint(std::chrono::milliseconds(1650445339361));
  f.hashes[core::HashType::Sha1] = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
  e.event.changedAttributes = {"mode", "setuid"};
  e.event.previous = f;
  e.event.previous->mode = 0755;
  e.event.previous->setuid = false;
  auto doc = parse(builder.build(e));
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
