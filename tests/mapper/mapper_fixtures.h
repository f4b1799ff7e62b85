#pragma once
// Events, metadata and JSON helpers shared by the mapper's tests: a fixed clock value, a full
// metadata snapshot, one event per action, and flattening of documents into dotted leaves.

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include "config/config.h"
#include "events/file_event.h"

namespace fim::testing {

inline const std::string kSourceDir = FIM_SOURCE_DIR;

inline core::TimePoint fixedTime(std::int64_t millis = 1650445339365) {  // 2022-04-20T09:02:19.365Z
  return core::TimePoint(std::chrono::milliseconds(millis));
}

inline std::shared_ptr<const events::Metadata> fullMetadata(bool withCloud = true) {
  auto m = std::make_shared<events::Metadata>();
  m->agent = {.id = "7e061f66-bf86-41e2-858d-d5cbe22e06b1", .ephemeralId = "5c919e9b-3b1f-4426-b93f-f5705bac73f9",
              .name = "docker-fleet-agent", .type = "fimbeat", .version = "0.1.0"};
  m->host.hostname = "docker-fleet-agent";
  m->host.name = "docker-fleet-agent";
  m->host.id = "b0d7e1c4a5f84c1e9d2f3a6b7c8d9e0f";
  m->host.architecture = "x86_64";
  m->host.os = {.type = "linux", .platform = "debian", .name = "Debian GNU/Linux", .version = "12 (bookworm)",
                .family = "debian", .kernel = "6.1.0-18-amd64", .codename = "bookworm"};
  m->host.ip = {"172.18.0.7", "fe80::42:acff:fe12:7"};
  m->host.mac = {"02-42-AC-12-00-07"};
  m->host.containerized = false;
  if (withCloud) {
    m->cloud = events::CloudInfo{.provider = "aws", .region = "eu-west-1", .availabilityZone = "eu-west-1a",
                               .instanceId = "i-0123456789abcdef0", .instanceName = "", .machineType = "t3.medium",
                               .accountId = "123456789012", .projectId = "", .serviceName = "EC2"};
  }
  return m;
}

inline events::FileInfo regularFile(std::string path, std::uint64_t size) {
  events::FileInfo f;
  f.path = std::move(path);
  f.type = events::FileType::File;
  f.size = size;
  f.inode = 56198717;
  f.device = 2049;
  f.uid = 0;
  f.gid = 0;
  f.owner = "root";
  f.group = "root";
  f.mode = 0644;
  f.mtime = fixedTime(1650445339361);
  f.ctime = fixedTime(1650445339361);
  f.mimeType = "text/plain";
  f.hashes[events::HashType::Sha1] = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
  f.hashes[events::HashType::Sha256] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  return f;
}

inline events::ProcessInfo editorProcess() {
  events::ProcessInfo p;
  p.pid = 4242;
  p.name = "vim";
  p.executable = "/usr/bin/vim.basic";
  p.args = {"vim", "/etc/hosts"};
  p.parentPid = 4200;
  p.workingDirectory = "/root";
  p.userId = 0;
  p.userName = "root";
  p.groupId = 0;
  p.groupName = "root";
  p.containerId = "3f4e5d6c7b8a";
  p.containerRuntime = "docker";
  return p;
}

inline events::EnrichedEvent enrichedEvent(std::vector<events::Action> actions, events::FileInfo file) {
  events::EnrichedEvent e;
  e.event.timestamp = fixedTime();
  e.event.created = fixedTime(1650445339361);  // read from the kernel 4 ms before the baseline recorded it
  e.event.live = true;
  e.event.actions = std::move(actions);
  e.event.file = std::move(file);
  e.event.sequence = 17;
  e.metadata = fullMetadata();
  e.tags = {"fim-event", "production"};
  return e;
}

// One event for each case the golden documents cover, by golden file name.
inline std::vector<std::pair<std::string, events::EnrichedEvent>> goldenEvents() {
  using events::Action;
  std::vector<std::pair<std::string, events::EnrichedEvent>> out;
  out.emplace_back("created", enrichedEvent({Action::Created}, regularFile("/etc/cron.d/backup", 120)));

  auto updated = enrichedEvent({Action::Updated}, regularFile("/etc/hosts", 220));
  updated.event.previous = updated.event.file;
  updated.event.previous->size = 180;
  updated.event.previous->hashes[events::HashType::Sha1] = "0a4d55a8d778e5022fab701977c5d840bbc486d0";
  updated.event.previous->hashes[events::HashType::Sha256] = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
  updated.event.previous->mtime = fixedTime(1650440000000);
  updated.event.changedAttributes = {"size", "mtime", "hash.sha1", "hash.sha256"};
  updated.event.process = editorProcess();
  out.emplace_back("updated", std::move(updated));

  auto attrs = enrichedEvent({Action::Updated, Action::AttributesModified}, regularFile("/usr/local/bin/tool", 59976));
  attrs.event.file.mode = 04755;
  attrs.event.file.setuid = true;
  attrs.event.file.owner = "";
  attrs.event.file.uid = 1001;
  attrs.event.previous = attrs.event.file;
  attrs.event.previous->mode = 0755;
  attrs.event.previous->setuid = false;
  attrs.event.previous->uid = 0;
  attrs.event.previous->owner = "root";
  attrs.event.previous->hashes[events::HashType::Sha256] = "5feceb66ffc86f38d952786c6d696c79c2dbc239dd4e91b46729d73a27fb57e9";
  attrs.event.file.selinux = "system_u:object_r:bin_t:s0";
  attrs.event.file.acl = "user::rwx,user:1000:r--,group::r-x,mask::r-x,other::r-x";
  attrs.event.changedAttributes = {"uid", "owner", "mode", "setuid", "acl", "hash.sha256"};
  out.emplace_back("updated_attributes_modified", std::move(attrs));

  // A deletion carries the baseline's last record of the file.
  auto deleted = enrichedEvent({Action::Deleted}, regularFile("/var/www/html/index.php", 3120));
  deleted.event.file.mimeType = "text/x-php";
  events::ProcessInfo exited;
  exited.pid = 31337;
  exited.exited = true;
  deleted.event.process = exited;
  out.emplace_back("deleted", std::move(deleted));

  auto moved = enrichedEvent({Action::Moved}, regularFile("/srv/data/report.final.pdf", 4096));
  moved.event.file.mimeType = "application/pdf";
  moved.event.previousPath = "/srv/data/report.draft.pdf";
  out.emplace_back("moved", std::move(moved));

  // file_parsers' fields of an ELF file: a Go binary, every field named.
  auto elf = enrichedEvent({Action::Created}, regularFile("/usr/local/bin/agentd", 8192));
  elf.event.file.mimeType = "application/x-executable";
  events::ElfInfo info;
  info.sections = std::vector<events::ElfSection>{{"", 0, 0, 0.0, 0.0},
                                                  {".text", 4096, 4096, 6.012939453125, 0.0001220703125},
                                                  {".bss", 0, 512, 0.0, 0.0}};
  info.importHash = "d41d8cd98f00b204e9800998ecf8427e";
  info.goImportHash = "9b1f5e8f2d1a0c6e4e3b2a1908f7e6d5";
  info.goImports = std::vector<std::string>{"github.com/acme/agent.Run", "github.com/acme/agent.(*Config).Load"};
  info.goImportsNamesEntropy = 4.375;
  info.goImportsNamesVarEntropy = 0.001953125;
  info.goStripped = false;
  elf.event.elf = info;
  out.emplace_back("created_elf", std::move(elf));

  events::FileInfo dir;
  dir.path = "/etc/ssh";
  dir.type = events::FileType::Dir;
  dir.inode = 1311;
  dir.mode = 0755;
  dir.owner = "root";
  dir.group = "root";
  dir.mtime = fixedTime(1650000000000);
  dir.ctime = fixedTime(1650000000000);
  auto scan = enrichedEvent({Action::InitialScan}, dir);
  scan.metadata = fullMetadata(false);
  scan.tags.clear();
  out.emplace_back("initial_scan", std::move(scan));

  auto link = regularFile("/etc/alternatives/editor", 0);
  link.type = events::FileType::Symlink;
  link.size.reset();
  link.hashes.clear();
  link.mimeType.reset();
  link.mode = 0777;
  link.targetPath = "/usr/bin/vim.basic";
  auto config = enrichedEvent({Action::ConfigChange}, link);
  out.emplace_back("config_change", std::move(config));

  events::FileInfo unreadable;
  unreadable.path = "/srv/private/bad\xff\xfe.txt";
  auto error = enrichedEvent({Action::Created}, unreadable);
  error.event.errorMessage = "failed to read /srv/private/bad\xff\xfe.txt: Permission denied";
  out.emplace_back("error", std::move(error));
  return out;
}

inline config::Config testConfig(bool keepNull = false) {
  config::Config c;
  c.modules.emplace_back();
  c.modules.back().keepNull = keepNull;
  c.dataStream.ns = "ep";
  return c;
}

inline rapidjson::Document parseJson(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.c_str(), json.size());
  REQUIRE_MESSAGE(!doc.HasParseError(), "not JSON: " << json);
  return doc;
}

inline std::string pretty(const rapidjson::Value& v) {
  rapidjson::StringBuffer buffer;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buffer);
  w.SetIndent(' ', 2);
  v.Accept(w);
  return std::string(buffer.GetString(), buffer.GetSize()) + "\n";
}

// Every leaf of a document as "a.b.c" → the JSON values there (array elements unrolled).
inline void leaves(const rapidjson::Value& v, const std::string& path, std::multimap<std::string, const rapidjson::Value*>& out) {
  if (v.IsObject()) {
    for (const auto& m : v.GetObject()) leaves(m.value, (path.empty() ? "" : path + ".") + m.name.GetString(), out);
  } else if (v.IsArray()) {
    for (const auto& item : v.GetArray()) leaves(item, path, out);
  } else {
    out.emplace(path, &v);
  }
}

inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void writeFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

inline bool envSet(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::string(v) != "0";
}

}  // namespace fim::testing
