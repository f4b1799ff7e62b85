// http.*, logging.metrics.* and the keystore's place in ${} expansion.

#include <doctest/doctest.h>

#include "config/loader.h"
#include "config_test_support.h"
#include "support/temp_dir.h"

using namespace fim;
using namespace fim::testing;

namespace {

bool contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

config::LoadOptions withKeystore(std::map<std::string, std::string> secrets, std::map<std::string, std::string> env = {}) {
  config::LoadOptions options = testOptions({}, std::move(env));
  options.keystore = [secrets](const std::string& dataDir) -> core::Result<config::Lookup> {
    CHECK(dataDir == "/opt/fim/data");
    return config::Lookup([secrets](std::string_view name) -> std::optional<std::string> {
      auto it = secrets.find(std::string(name));
      if (it == secrets.end()) return std::nullopt;
      return it->second;
    });
  };
  return options;
}

}  // namespace

TEST_CASE("http.* has Beats' defaults: off, localhost, 5066") {
  auto loaded = loadYaml(kMinimal);
  REQUIRE(loaded.has_value());
  CHECK_FALSE(loaded->config.http.enabled);
  CHECK(loaded->config.http.host == "localhost");
  CHECK(loaded->config.http.port == 5066);
  CHECK(loaded->config.logging.metricsEnabled);
  CHECK(loaded->config.logging.metricsPeriod == std::chrono::seconds(30));
  CHECK(warningsOf(*loaded).empty());
}

TEST_CASE("http.* and logging.metrics.* are read, and bad values name their key and line") {
  auto loaded = loadYaml(kMinimal + "http:\n  enabled: true\n  host: unix:///run/fimbeat/fimbeat.sock\n  port: 0\n"
                                    "logging.metrics:\n  enabled: false\n  period: 10s\n");
  REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().message()));
  CHECK(loaded->config.http.enabled);
  CHECK(loaded->config.http.host == "unix:///run/fimbeat/fimbeat.sock");
  CHECK(loaded->config.http.port == 0);
  CHECK_FALSE(loaded->config.logging.metricsEnabled);
  CHECK(loaded->config.logging.metricsPeriod == std::chrono::seconds(10));

  CHECK(contains(errorsOf(kMinimal + "http.port: 70000\n"), "test.yml:6: http.port"));
  CHECK(contains(errorsOf(kMinimal + "http.host: unix://relative.sock\n"), "test.yml:6: http.host: a unix socket needs an absolute path"));
  CHECK(contains(errorsOf(kMinimal + "logging.metrics.period: soon\n"), "test.yml:6: logging.metrics.period"));
  CHECK(contains(errorsOf(kMinimal + "http.prot: 1\n"), "http.prot"));
}

TEST_CASE("${NAME} resolves from the keystore before the environment, and keystore values are literal and secret") {
  const std::string yaml = kMinimal + "name: ${AGENT}\ntags: ['${ONLY_ENV}', 'x-${TOKEN}']\n";
  auto loaded = config::loadText(yaml, "test.yml",
                                 withKeystore({{"AGENT", "from-keystore"}, {"TOKEN", "a${literal}"}},
                                              {{"AGENT", "from-env"}, {"ONLY_ENV", "env"}, {"literal", "no"}}));
  REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().message()));
  CHECK(loaded->config.name == "from-keystore");
  CHECK(loaded->config.tags == std::vector<std::string>{"env", "x-a${literal}"});
  const std::string exported = config::exportYaml(loaded->config);
  CHECK_FALSE(contains(exported, "from-keystore"));
  CHECK_FALSE(contains(exported, "a${literal}"));
  std::size_t redacted = 0;
  for (std::size_t at = 0; (at = exported.find("[REDACTED]", at)) != std::string::npos; ++at) ++redacted;
  CHECK(redacted == 2);  // name, and the tag that holds a keystore value
  CHECK(contains(exported, "- env"));
}

TEST_CASE("a keystore that cannot be opened fails the load with its message") {
  config::LoadOptions options = testOptions();
  options.keystore = [](const std::string&) -> core::Result<config::Lookup> {
    return core::fail(core::ErrorCode::Parse, "cannot decrypt the keystore");
  };
  auto loaded = config::loadText(kMinimal, "test.yml", options);
  REQUIRE_FALSE(loaded.has_value());
  CHECK(contains(loaded.error().message(), "/opt/fim/data/fimbeat.keystore: keystore: cannot decrypt the keystore"));
}

TEST_CASE("loadPaths reads path.* without needing a valid configuration") {
  TempDir tmp;
  const std::string file = tmp.write("fimbeat.yml", "path.data: /srv/fim-data\nname: ${NOT_SET_ANYWHERE}\n");
  config::LoadOptions options = testOptions();
  options.configFile = file;
  auto paths = config::loadPaths(options);
  REQUIRE_MESSAGE(paths.has_value(), (paths ? "" : paths.error().message()));
  CHECK(paths->data == "/srv/fim-data");
  options.pathData = "/flag/wins";
  CHECK(config::loadPaths(options)->data == "/flag/wins");
  options.configFile = tmp.str() + "/missing.yml";
  options.pathData.reset();
  CHECK(config::loadPaths(options)->data == "/opt/fim/data");
}
