// setup.kibana and setup.dashboards: Beats' names and defaults, credentials from the output, and a
// file:line error for each bad value.

#include <doctest/doctest.h>

#include "config_test_support.h"

using namespace fim;
using namespace fim::testing;
using namespace std::chrono_literals;

namespace {

const std::string kModule = "fimbeat.modules:\n- module: file_integrity\n  paths: [/etc]\n";
const std::string kFile = kModule + "output.file:\n  path: /tmp/events\n";

}  // namespace

TEST_CASE("setup.kibana and setup.dashboards defaults are Beats'") {
  auto loaded = loadYaml(kFile);
  REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().message()));
  const auto& kibana = loaded->config.setup.kibana;
  CHECK(kibana.host == "localhost:5601");
  CHECK(kibana.protocol.empty());
  CHECK(kibana.spaceId.empty());
  CHECK(kibana.username.empty());
  CHECK(kibana.apiKey.empty());
  CHECK(kibana.timeout == 90s);
  const auto& dashboards = loaded->config.setup.dashboards;
  CHECK_FALSE(dashboards.enabled);
  CHECK(dashboards.directory == "/opt/fim/kibana");
  CHECK(dashboards.index.empty());
  CHECK_FALSE(dashboards.retryEnabled);
  CHECK(dashboards.retryInterval == 1s);
  CHECK(dashboards.retryMaximum == 0);
  CHECK_FALSE(dashboards.onlyDashboards);
  CHECK_FALSE(dashboards.onlyIndex);
}

TEST_CASE("setup.kibana and setup.dashboards options are read") {
  auto loaded = loadYaml(kFile +
                         "setup.kibana:\n  host: 'https://kb:5601/base'\n  protocol: https\n  path: kibana/\n"
                         "  space.id: sec_ops-1\n  username: u\n  password: p\n  headers: {X-Team: ops}\n"
                         "  ssl: {verification_mode: none, certificate_authorities: [/ca.pem]}\n  timeout: 5s\n"
                         "setup.dashboards:\n  enabled: true\n  directory: dash\n  index: 'logs-fim.event-prod*'\n"
                         "  retry: {enabled: true, interval: 250ms, maximum: 4}\n"
                         "  string_replacements: {CHANGEME: web-01}\n  only_dashboards: true\n");
  REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().message()));
  CHECK(loaded->warnings.empty());
  const auto& kibana = loaded->config.setup.kibana;
  CHECK(kibana.host == "https://kb:5601/base");
  CHECK(kibana.protocol == "https");
  CHECK(kibana.path == "/kibana");
  CHECK(kibana.spaceId == "sec_ops-1");
  CHECK(kibana.username == "u");
  CHECK(kibana.password == "p");
  CHECK(kibana.headers.at("X-Team") == "ops");
  CHECK((kibana.ssl.verificationMode == config::SslVerificationMode::None));
  CHECK(kibana.ssl.certificateAuthorities == std::vector<std::string>{"/ca.pem"});
  CHECK(kibana.timeout == 5s);
  const auto& dashboards = loaded->config.setup.dashboards;
  CHECK(dashboards.enabled);
  CHECK(dashboards.directory == "/opt/fim/dash");
  CHECK(dashboards.index == "logs-fim.event-prod*");
  CHECK(dashboards.retryEnabled);
  CHECK(dashboards.retryInterval == 250ms);
  CHECK(dashboards.retryMaximum == 4);
  CHECK(dashboards.stringReplacements.at("CHANGEME") == "web-01");
  CHECK(dashboards.onlyDashboards);
}

TEST_CASE("without credentials of its own, Kibana takes output.elasticsearch's, as Beats does") {
  const std::string es = kModule + "output.elasticsearch:\n  hosts: [es]\n  username: elastic\n  password: pw\n";
  auto loaded = loadYaml(es);
  REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().message()));
  CHECK(loaded->config.setup.kibana.username == "elastic");
  CHECK(loaded->config.setup.kibana.password == "pw");
  CHECK(loaded->config.setup.kibana.credentialsFromOutput);
  auto own = loadYaml(es + "setup.kibana.api_key: 'id:key'\n");
  REQUIRE_MESSAGE(own.has_value(), (own ? "" : own.error().message()));
  CHECK(own->config.setup.kibana.username.empty());
  CHECK(own->config.setup.kibana.apiKey == "id:key");
  CHECK_FALSE(own->config.setup.kibana.credentialsFromOutput);
  auto file = loadYaml(kFile);
  CHECK(file->config.setup.kibana.username.empty());
}

TEST_CASE("every bad setup.kibana or setup.dashboards value is an error with its key and line") {
  const std::string errors = errorsOf(kFile +
                                      "setup.kibana:\n"                       // 6
                                      "  host: 'ftp://kb'\n"                  // 7
                                      "  space.id: 'Sec Ops'\n"               // 8
                                      "  api_key: nocolon\n"                  // 9
                                      "  timeout: 0s\n"                       // 10
                                      "  hots: x\n"                           // 11
                                      "setup.dashboards:\n"                   // 12
                                      "  retry.interval: -1s\n"               // 13
                                      "  retry.maximum: -2\n"                 // 14
                                      "  only_index: true\n"                  // 15
                                      "  only_dashboards: true\n"             // 16
                                      "  index: 'a b'\n");                    // 17
  CAPTURE(errors);
  for (const char* expected : {"test.yml:7: setup.kibana.host", "test.yml:8: setup.kibana.space.id",
                               "test.yml:9: setup.kibana.api_key", "test.yml:10: setup.kibana.timeout",
                               "test.yml:11: setup.kibana.hots: unknown option \"hots\"; did you mean \"setup.kibana.host\"?",
                               "test.yml:13: setup.dashboards.retry.interval", "test.yml:14: setup.dashboards.retry.maximum",
                               "test.yml:15: setup.dashboards.only_index", "test.yml:17: setup.dashboards.index"}) {
    CHECK(errors.find(expected) != std::string::npos);
  }
  CHECK(errors.find("nocolon") == std::string::npos);
  CHECK(errorsOf(kFile + "setup.kibana.password: p\n").find("setup.kibana.password: a password needs a username") !=
        std::string::npos);
}

TEST_CASE("legacy setup.dashboards options are warned about, secrets of setup.kibana are redacted") {
  auto loaded = loadYaml(kFile + "setup.dashboards.url: http://x/d.zip\nsetup.kibana.username: u\n"
                                 "setup.kibana.password: kb-secret\nsetup.kibana.ssl.key_passphrase: kp-secret\n");
  REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().message()));
  CHECK(warningsOf(*loaded).find("setup.dashboards.url") != std::string::npos);
  const std::string yaml = config::exportYaml(loaded->config);
  CHECK(yaml.find("kb-secret") == std::string::npos);
  CHECK(yaml.find("kp-secret") == std::string::npos);
}
