// Auditbeat's config files as users have them: other modules, aliases, Cloud ids, checks Auditbeat makes.
#include <doctest/doctest.h>

#include <algorithm>

#include "config/cloud_id.h"
#include "config/index_format.h"
#include "config/loader.h"
#include "config_test_support.h"
#include "core/base64.h"

using namespace fim;
using namespace fim::testing;

namespace {
bool contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

std::string module(const std::string& options) {
  return "auditbeat.modules:\n- module: file_integrity\n  paths: [/etc]\n" + options + "output.file:\n  path: /tmp/events\n";
}
}  // namespace

TEST_CASE("auditd and system modules are skipped with one warning each, disabled modules are not read") {
  auto loaded = loadYaml(
      "auditbeat.modules:\n"
      "- module: auditd\n"
      "  audit_rule_files: [ '${path.config}/audit.rules.d/*.conf' ]\n"
      "  audit_rules: |\n"
      "    -w /etc/passwd -p wa -k identity\n"
      "- module: file_integrity\n"
      "  paths: [/etc]\n"
      "- module: system\n"
      "  datasets: [package]\n"
      "  period: 2m\n"
      "- module: file_integrity\n"
      "  enabled: false\n"
      "  paths: [/var]\n"
      "  not_an_option: 1\n"
      "output.file:\n  path: /tmp/events\n");
  REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().message()));
  REQUIRE(loaded->config.modules.size() == 1);
  CHECK(loaded->config.modules[0].paths == std::vector<std::string>{"/etc"});
  const std::string warnings = warningsOf(*loaded);
  CHECK(contains(warnings, "test.yml:2: auditbeat.modules.0.module: module \"auditd\" skipped: fimbeat runs only file_integrity"));
  CHECK(contains(warnings, "test.yml:8: auditbeat.modules.2.module: module \"system\" skipped"));
  CHECK(loaded->warnings.size() == 2);
  CHECK(contains(errorsOf(module("") + "fimbeat.modules:\n- module: packetbeat\n"), "unknown module \"packetbeat\""));
}

TEST_CASE("force_backend is the older name of backend, both at once is an error") {
  auto loaded = loadYaml(module("  force_backend: fsnotify\n"));
  REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().message()));
  CHECK(loaded->config.modules[0].backend == "fsnotify");
  CHECK(contains(errorsOf(module("  force_backend: kprobes\n  backend: auto\n")), "not both"));
  CHECK(contains(errorsOf(module("  force_backend: nope\n")), "auditbeat.modules.0.force_backend"));
}

TEST_CASE("service.name is read, flush_interval is ignored with a warning as Auditbeat ignores it on Linux") {
  auto loaded = loadYaml(module("  service.name: payroll\n  flush_interval: 1m\n"));
  REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().message()));
  CHECK(loaded->config.modules[0].serviceName == "payroll");
  CHECK(contains(warningsOf(*loaded), "auditbeat.modules.0.flush_interval: ignored"));
  CHECK(contains(errorsOf(module("  flush_interval: soon\n")), "auditbeat.modules.0.flush_interval"));
}

TEST_CASE("max_file_size must be positive, as Auditbeat requires") {
  CHECK(contains(errorsOf(module("  max_file_size: 0\n")), "test.yml:4: auditbeat.modules.0.max_file_size: must be positive"));
  CHECK(contains(errorsOf(module("  max_file_size: -1 MiB\n")), "must be a positive size"));
  CHECK(contains(errorsOf(module("  max_file_size: '0 B'\n")), "must be positive"));
  auto loaded = loadYaml(module("  max_file_size: 1 KiB\n"));
  REQUIRE(loaded.has_value());
  CHECK(loaded->config.modules[0].maxFileSize == 1024);
}

TEST_CASE("file_parsers values are checked against Auditbeat's fields, regular expressions resolved to them") {
  auto loaded = loadYaml(module("  file_parsers:\n  - file.elf.sections\n  - '/^file\\.pe\\./'\n"));
  REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().message()));
  CHECK(contains(warningsOf(*loaded), "auditbeat.modules.0.file_parsers: file.pe.* accepted but never added: fimbeat parses ELF files only"));
  const auto& selected = loaded->config.modules[0].fileParsers;
  CHECK(selected.size() == 17);  // file.elf.sections and the 16 file.pe.* fields
  CHECK(selected.front() == "file.elf.sections");
  CHECK(std::count_if(selected.begin(), selected.end(), [](const std::string& f) { return f.starts_with("file.pe."); }) == 16);
  // As Go's MatchString: anywhere in the name; a field named twice is selected once; ELF alone warns of nothing.
  auto elf = loadYaml(module("  file_parsers: ['/elf\\.go_/', file.elf.go_stripped, '/^file\\.elf\\.imports$/']\n"));
  REQUIRE_MESSAGE(elf.has_value(), (elf ? "" : elf.error().message()));
  CHECK(elf->config.modules[0].fileParsers ==
        std::vector<std::string>{"file.elf.go_import_hash", "file.elf.go_imports", "file.elf.go_imports_names_entropy",
                                 "file.elf.go_imports_names_var_entropy", "file.elf.go_stripped", "file.elf.imports"});
  CHECK_FALSE(contains(warningsOf(*elf), "file_parsers"));
  const std::string typo = errorsOf(module("  file_parsers: [file.elf.section]\n"));
  CHECK(contains(typo, "test.yml:4: auditbeat.modules.0.file_parsers.0: unknown file_parsers field \"file.elf.section\""));
  CHECK(contains(typo, "did you mean \"file.elf.sections\""));
  CHECK(contains(errorsOf(module("  file_parsers: ['/^file\\.zip\\./']\n")), "matches none of Auditbeat's file_parsers fields"));
  CHECK(contains(errorsOf(module("  file_parsers: ['/[/']\n")), "invalid regular expression"));
  CHECK(config::fileParserFields().size() == 47);
}

TEST_CASE("cloud.id decodes to Elasticsearch and Kibana hosts, as Beats decode it") {
  // The example of Elastic's documentation: host$es$kibana, default port 443.
  auto plain = config::decodeCloudId("staging:" + core::base64("us-east-1.aws.found.io$cec6f261a74bf24ce33bb8811b84294f$c6f2f3e1b1b247b9b0d5d0c8a2c0a1b2"));
  REQUIRE(plain.has_value());
  CHECK(plain->elasticsearch == "https://cec6f261a74bf24ce33bb8811b84294f.us-east-1.aws.found.io:443");
  CHECK(plain->kibana == "https://c6f2f3e1b1b247b9b0d5d0c8a2c0a1b2.us-east-1.aws.found.io:443");
  auto ports = config::decodeCloudId("x:" + core::base64("example.com:9243$es:9244$kb"));
  REQUIRE(ports.has_value());
  CHECK(ports->elasticsearch == "https://es.example.com:9244");
  CHECK(ports->kibana == "https://kb.example.com:9243");
  auto noKibana = config::decodeCloudId(core::base64("example.com$es"));
  REQUIRE(noKibana.has_value());
  CHECK(noKibana->kibana.empty());
  CHECK_FALSE(config::decodeCloudId("label:not base64!").has_value());
  CHECK_FALSE(config::decodeCloudId("label:" + core::base64("only-a-host")).has_value());
}

TEST_CASE("cloud.id and cloud.auth overwrite output.elasticsearch and setup.kibana, never silently localhost") {
  const std::string id = "prod:" + core::base64("example.com:9243$es1$kb1");
  auto loaded = loadYaml("fimbeat.modules:\n- module: file_integrity\n  paths: [/etc]\n"
                         "cloud.id: \"" + id + "\"\ncloud.auth: elastic:s3cr:et\n"
                         "output.elasticsearch:\n  hosts: [localhost:9200]\n");
  REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().message()));
  const auto& es = loaded->config.output.elasticsearch;
  CHECK(es.hosts == std::vector<std::string>{"https://es1.example.com:9243"});
  CHECK(es.username == "elastic");
  CHECK(es.password == "s3cr:et");
  CHECK(loaded->config.setup.kibana.host == "https://kb1.example.com:9243");
  CHECK_FALSE(contains(warningsOf(*loaded), "cloud"));
  CHECK(contains(errorsOf("fimbeat.modules:\n- module: file_integrity\n  paths: [/etc]\ncloud.id: garbage!\n"), "test.yml:4: cloud.id: is not an Elastic Cloud id"));
  CHECK(contains(errorsOf(module("cloud.id: \"" + id + "\"\n")), "output.file: cloud.id and cloud.auth only work with output.elasticsearch"));
  CHECK(contains(errorsOf("fimbeat.modules:\n- module: file_integrity\n  paths: [/etc]\ncloud.auth: nocolon\n"), "cloud.auth: must look like <user>:<password>"));
}

TEST_CASE("index format strings: agent fields and Joda dates of the event's time, lower-cased") {
  auto format = config::IndexFormat::parse("Auditbeat-%{[agent.version]}-%{[agent.name]}-%{+yyyy.MM.dd}-%{+HH}");
  REQUIRE(format.has_value());
  const auto t = core::TimePoint(std::chrono::seconds(1709622000));  // 2024-03-05T07:00:00Z
  CHECK(format->expand({{"version", "8.15.0"}, {"name", "Web-1"}}, t) == "auditbeat-8.15.0-web-1-2024.03.05-07");
  CHECK(format->hasDate());
  CHECK(config::IndexFormat::parse("%{[beat.version]}-%{+yy.M.d}")->expand({{"version", "9.0.0"}}, t) == "9.0.0-24.3.5");
  CHECK_FALSE(config::IndexFormat::parse("a-%{[event.module]}").has_value());
  CHECK_FALSE(config::IndexFormat::parse("a-%{+yyyy.MM.dd").has_value());
  CHECK_FALSE(config::IndexFormat::parse("a-%{+EEE}").has_value());
  CHECK(config::indexNameProblem("auditbeat-%{[agent.version]}").empty());
  CHECK_FALSE(config::indexNameProblem("_x").empty());
  auto loaded = loadYaml(module("  index: 'fim-%{[agent.name]}-%{+yyyy}'\n"));
  REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().message()));
  CHECK(loaded->config.modules[0].index == "fim-%{[agent.name]}-%{+yyyy}");
  CHECK(loaded->warnings.empty());
}

TEST_CASE("fields and fields_under_root become an add_fields run before every processor") {
  auto loaded = loadYaml(module("  fields: {team: a}\n  processors: [{add_tags: {tags: [x]}}]\n") +
                         "fields: {env: staging}\nfields_under_root: true\n");
  REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().message()));
  const auto& m = loaded->config.modules[0];
  REQUIRE(m.processors.size() == 2);
  CHECK(m.processors[0].name == "add_fields");
  CHECK(std::get<config::AddFieldsConfig>(m.processors[0].options).target == "fields");
  REQUIRE(loaded->config.processors.size() == 1);
  CHECK(std::get<config::AddFieldsConfig>(loaded->config.processors[0].options).target.empty());
  CHECK(warningsOf(*loaded).empty());
}
