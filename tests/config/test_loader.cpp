#include <doctest/doctest.h>

#include <sys/stat.h>

#include "config/loader.h"
#include "config_test_support.h"
#include "support/temp_dir.h"

using namespace fim;
using namespace fim::testing;

namespace {
bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}
}  // namespace

TEST_CASE("a minimal config loads with Auditbeat's defaults") {
  auto loaded = loadYaml(kMinimal);
  REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().message()));
  const auto& c = loaded->config;
  REQUIRE(c.modules.size() == 1);
  const auto& m = c.modules[0];
  CHECK(m.paths == std::vector<std::string>{"/etc"});
  CHECK_FALSE(m.recursive);
  CHECK(m.enabled);
  CHECK(m.scanAtStart);
  CHECK(m.hashTypes == std::vector<std::string>{"sha1"});
  CHECK(m.maxFileSize == 100ull << 20);
  CHECK(m.scanRatePerSec == 50ull << 20);
  CHECK(m.backend == "auto");
  CHECK(c.output.kind == config::OutputKind::File);
  CHECK(c.output.file.path == "/tmp/events");
  CHECK(c.output.file.filename == "fimbeat");
  CHECK(c.output.file.rotateEveryKb == 10240);
  CHECK(c.output.file.numberOfFiles == 7);
  CHECK(c.output.file.permissions == 0600);
  CHECK(c.paths.home == "/opt/fim");
  CHECK(c.paths.config == "/opt/fim");
  CHECK(c.paths.data == "/opt/fim/data");
  CHECK(c.paths.logs == "/opt/fim/logs");
  CHECK(c.logging.filesPath == "/opt/fim/logs");
  CHECK(loaded->warnings.empty());
}

TEST_CASE("dotted keys and nested maps are the same settings") {
  const std::string nested =
      "fimbeat:\n  modules:\n  - module: file_integrity\n    paths: [/etc]\n"
      "output:\n  file:\n    path: /x\n    number_of_files: 3\n";
  const std::string dotted =
      "fimbeat.modules:\n- module: file_integrity\n  paths: [/etc]\n"
      "output.file.path: /x\noutput.file:\n  number_of_files: 3\n";
  for (const auto& yaml : {nested, dotted}) {
    auto loaded = loadYaml(yaml);
    REQUIRE(loaded.has_value());
    CHECK(loaded->config.output.file.path == "/x");
    CHECK(loaded->config.output.file.numberOfFiles == 3);
  }
}

TEST_CASE("auditbeat.modules is accepted like fimbeat.modules") {
  auto loaded = loadYaml("auditbeat.modules:\n- module: file_integrity\n  paths: [/bin, /usr/bin]\n  recursive: true\n"
                         "output.console.pretty: true\n");
  REQUIRE(loaded.has_value());
  CHECK(loaded->config.modules[0].paths == std::vector<std::string>{"/bin", "/usr/bin"});
  CHECK(loaded->config.modules[0].recursive);
  CHECK(loaded->config.output.kind == config::OutputKind::Console);
  CHECK(loaded->config.output.console.pretty);
}

TEST_CASE("environment references expand, with defaults, required markers and escapes") {
  const std::map<std::string, std::string> env{{"WATCH", "/srv/www"}, {"NAME", "events"}};
  auto loaded = loadYaml(
      "fimbeat.modules:\n- module: file_integrity\n"
      "  paths: ['${WATCH}', '${UNSET:/var/default}', '${UNSET:${WATCH}/nested}', 'lit$${WATCH}']\n"
      "output.file:\n  path: ${path.data}/out\n  filename: ${NAME}\n",
      {}, env);
  REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().message()));
  CHECK(loaded->config.modules[0].paths ==
        std::vector<std::string>{"/srv/www", "/var/default", "/srv/www/nested", "lit${WATCH}"});
  CHECK(loaded->config.output.file.path == "/opt/fim/data/out");
  CHECK(loaded->config.output.file.filename == "events");
}

TEST_CASE("an unset reference names the variable, the key and the line") {
  const std::string errors = errorsOf(kMinimal + "tags: ['${NOPE}']\n");
  CHECK(contains(errors, "test.yml:6: tags.0: ${NOPE} is not set"));
  const std::string required = errorsOf(kMinimal + "tags: ['${TOKEN:?set TOKEN to the API token}']\n");
  CHECK(contains(required, "test.yml:6: tags.0: ${TOKEN} is required: set TOKEN to the API token"));
}

TEST_CASE("-E overrides win over the file, are typed, and expand references") {
  auto loaded = loadYaml(kMinimal,
                         {"output.file.path=/override", "fimbeat.modules=[{module: file_integrity, paths: [/a], recursive: true}]",
                          "output.file.rotate_on_startup=false", "tags=[${TEAM}]"},
                         {{"TEAM", "secops"}});
  REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().message()));
  CHECK(loaded->config.output.file.path == "/override");
  CHECK_FALSE(loaded->config.output.file.rotateOnStartup);
  CHECK(loaded->config.modules[0].paths == std::vector<std::string>{"/a"});
  CHECK(loaded->config.modules[0].recursive);
  CHECK(loaded->config.tags == std::vector<std::string>{"secops"});
}

TEST_CASE("a malformed -E and a bad -E value are reported as coming from -E") {
  CHECK(contains(errorsOf(kMinimal, {"novalue"}), "-E: novalue: an override must look like -E key=value"));
  CHECK(contains(errorsOf(kMinimal, {"output.file.number_of_files=many"}),
                 "-E output.file.number_of_files: output.file.number_of_files: expected an integer, got \"many\""));
}

TEST_CASE("path settings: flags win over the file, the file over home-derived defaults") {
  auto options = testOptions();
  options.pathData = "/flag/data";
  auto loaded = config::loadText(kMinimal + "path.home: /file/home\npath.logs: /file/logs\n", "t.yml", options);
  REQUIRE(loaded.has_value());
  CHECK(loaded->config.paths.home == "/file/home");
  CHECK(loaded->config.paths.config == "/file/home");
  CHECK(loaded->config.paths.data == "/flag/data");
  CHECK(loaded->config.paths.logs == "/file/logs");
}

TEST_CASE("export redacts secrets and shows the effective values") {
  auto loaded = loadYaml(
      "fimbeat.modules:\n- module: file_integrity\n  paths: [/etc]\n"
      "output.elasticsearch:\n  hosts: ['https://es:9200']\n  username: elastic\n  password: hunter2\n"
      "  ssl.key_passphrase: topsecret\n",
      {"output.elasticsearch.username=${USER_NAME}"}, {{"USER_NAME", "shipper"}});
  REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().message()));
  const std::string yaml = config::exportYaml(loaded->config);
  CHECK_FALSE(contains(yaml, "hunter2"));
  CHECK_FALSE(contains(yaml, "topsecret"));
  CHECK(contains(yaml, "password: \"[REDACTED]\""));
  CHECK(contains(yaml, "username: shipper"));
  CHECK(contains(yaml, "data: /opt/fim/data"));
  auto withKey = loadYaml("fimbeat.modules:\n- module: file_integrity\n  paths: [/etc]\n"
                          "output.elasticsearch:\n  hosts: ['https://es:9200']\n  api_key: 'id:topsecret'\n");
  REQUIRE_MESSAGE(withKey.has_value(), (withKey ? "" : withKey.error().message()));
  CHECK_FALSE(contains(config::exportYaml(withKey->config), "topsecret"));
}

TEST_CASE("strict permissions refuse a config file others can write, and say how to fix it") {
  TempDir dir;
  const std::string file = dir.write("fimbeat.yml", kMinimal);
  ::chmod(file.c_str(), 0644);
  CHECK(config::checkOwnershipAndPermissions(file).has_value());
  ::chmod(file.c_str(), 0664);
  auto refused = config::checkOwnershipAndPermissions(file);
  REQUIRE_FALSE(refused.has_value());
  CHECK(contains(refused.error().message(), "0664"));
  CHECK(contains(refused.error().message(), "chmod go-w " + file));
  CHECK(contains(refused.error().message(), "--strict.perms=false"));

  auto options = testOptions();
  options.configFile = file;
  CHECK_FALSE(config::load(options).has_value());
  options.strictPerms = false;
  CHECK(config::load(options).has_value());
}

TEST_CASE("a missing config file names the file and the -c flag") {
  auto options = testOptions();
  options.configFile = "/nonexistent/fimbeat.yml";
  options.strictPerms = false;
  auto loaded = config::load(options);
  REQUIRE_FALSE(loaded.has_value());
  CHECK(contains(loaded.error().message(), "/nonexistent/fimbeat.yml"));
  CHECK(contains(loaded.error().message(), "-c FILE"));
}

TEST_CASE("-E reaches into lists by index, as beats does") {
  auto loaded = loadYaml(kMinimal, {"fimbeat.modules.0.recursive=true", "fimbeat.modules.0.paths.1=/srv"});
  REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().message()));
  CHECK(loaded->config.modules[0].recursive);
  CHECK(loaded->config.modules[0].paths == std::vector<std::string>{"/etc", "/srv"});
}

TEST_CASE("a key with an empty value is reported at its own line") {
  auto loaded = loadYaml(kMinimal + "seccomp:\n# a comment\n\nhttp.enabled: false\n");
  REQUIRE(loaded.has_value());
  bool found = false;
  for (const auto& w : loaded->warnings) {
    if (w.keyPath == "seccomp") {
      CHECK(w.origin.line == 6);
      found = true;
    }
  }
  CHECK(found);
}

TEST_CASE("export redacts credentials in header names and URLs whatever their case") {
  auto loaded = loadYaml(
      "fimbeat.modules:\n- module: file_integrity\n  paths: [/etc]\n"
      "output.elasticsearch:\n  hosts: ['https://elastic:pa55word@es:9200']\n"
      "  proxy_url: 'http://proxy-user:pr0xy@proxy:3128'\n"
      "  headers:\n    Authorization: 'Bearer s3cr3t-token'\n    X-Api-Key: 'k3y'\n    X-Team: visible\n");
  REQUIRE(loaded.has_value());
  const std::string yaml = config::exportYaml(loaded->config);
  for (const char* secret : {"pa55word", "pr0xy", "s3cr3t-token", "k3y"}) {
    CAPTURE(secret);
    CHECK_FALSE(contains(yaml, secret));
  }
  CHECK(contains(yaml, "https://elastic:[REDACTED]@es:9200"));
  CHECK(contains(yaml, "X-Team: visible"));
}

TEST_CASE("a relative -c is relative to path.config, as in Beats") {
  TempDir dir;
  dir.write("auditbeat.yml", kMinimal);
  auto options = testOptions();
  options.strictPerms = false;
  options.configFile = "auditbeat.yml";
  options.pathConfig = dir.path().string();
  auto loaded = config::load(options);
  REQUIRE(loaded.has_value());
  CHECK(loaded->config.configFile == dir.path().string() + "/auditbeat.yml");
  options.pathConfig.reset();
  options.pathHome = dir.path().string();  // path.config defaults to path.home
  CHECK(config::load(options).has_value());
}
