// output.elasticsearch and setup.*: beats' names and defaults, and a file:line error for each bad value.

#include <doctest/doctest.h>

#include "config_test_support.h"

using namespace fim;
using namespace fim::testing;
using namespace std::chrono_literals;

namespace {

const std::string kModule = "fimbeat.modules:\n- module: file_integrity\n  paths: [/etc]\n";

std::string es(const std::string& options) { return kModule + "output.elasticsearch:\n  hosts: [es]\n" + options; }

}  // namespace

TEST_CASE("output.elasticsearch defaults are beats'") {
  auto loaded = loadYaml(es(""));
  REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().message()));
  CHECK(loaded->warnings.empty());
  const auto& o = loaded->config.output.elasticsearch;
  CHECK((loaded->config.output.kind == config::OutputKind::Elasticsearch));
  CHECK(o.bulkMaxSize == 1600);
  CHECK(o.flushInterval == 1s);
  CHECK(o.worker == 1);
  CHECK(o.compressionLevel == 1);
  CHECK(o.timeout == 90s);
  CHECK(o.idleConnectionTimeout == 3s);
  CHECK(o.maxRetries == 3);
  CHECK(o.backoffInit == 1s);
  CHECK(o.backoffMax == 60s);
  CHECK((o.ssl.verificationMode == config::SslVerificationMode::Full));
  CHECK_FALSE(o.ssl.enabled.has_value());
  CHECK((o.nonIndexablePolicy == config::NonIndexablePolicy::Drop));
  const auto& setup = loaded->config.setup;
  CHECK(setup.templateEnabled);
  CHECK_FALSE(setup.templateOverwrite);
  CHECK(setup.ilmEnabled);
  CHECK(setup.ilmPolicyName == "fimbeat");
}

TEST_CASE("output.elasticsearch options are read") {
  auto loaded = loadYaml(es("  protocol: https\n  path: /es/\n  bulk_max_size: 50\n  flush_interval: 5s\n  worker: 4\n"
                            "  compression_level: 0\n  timeout: 10s\n  idle_connection_timeout: 30s\n  max_retries: -1\n"
                            "  backoff: {init: 100ms, max: 2s}\n  proxy_url: http://proxy:3128\n  username: u\n  password: p\n"
                            "  headers: {X-Team: fim}\n  index: fim-events\n"
                            "  ssl: {certificate_authorities: [/ca.pem], verification_mode: certificate, certificate: /c.pem,"
                            " key: /k.pem, ca_trusted_fingerprint: 'AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89'}\n"
                            "  non_indexable_policy.dead_letter_index.index: fim-dlq\n"
                            "setup.template.overwrite: true\nsetup.ilm: {enabled: false, policy_name: mine}\n"));
  REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().message()));
  const auto& o = loaded->config.output.elasticsearch;
  CHECK(o.protocol == "https");
  CHECK(o.path == "/es");
  CHECK(o.bulkMaxSize == 50);
  CHECK(o.flushInterval == 5s);
  CHECK(o.worker == 4);
  CHECK(o.compressionLevel == 0);
  CHECK(o.timeout == 10s);
  CHECK(o.idleConnectionTimeout == 30s);
  CHECK(o.maxRetries == -1);
  CHECK(o.backoffInit == 100ms);
  CHECK(o.backoffMax == 2s);
  CHECK(o.proxyUrl == "http://proxy:3128");
  CHECK(o.headers.at("X-Team") == "fim");
  CHECK(o.index == "fim-events");
  CHECK(o.ssl.certificateAuthorities == std::vector<std::string>{"/ca.pem"});
  CHECK((o.ssl.verificationMode == config::SslVerificationMode::Certificate));
  CHECK(o.ssl.caTrustedFingerprint == "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
  CHECK((o.nonIndexablePolicy == config::NonIndexablePolicy::DeadLetterIndex));
  CHECK(o.deadLetterIndex == "fim-dlq");
  CHECK(loaded->config.setup.templateOverwrite);
  CHECK_FALSE(loaded->config.setup.ilmEnabled);
  CHECK(loaded->config.setup.ilmPolicyName == "mine");
  CHECK(warningsOf(*loaded).find("test.yml:9: output.elasticsearch.flush_interval: accepted but not acted on yet") !=
        std::string::npos);
}

TEST_CASE("every bad output.elasticsearch value is an error with its key and line") {
  struct Case {
    std::string options, expected;
  };
  const std::vector<Case> cases{
      {"  bulk_max_size: 0\n", "test.yml:6: output.elasticsearch.bulk_max_size: must be between 1 and 1000000, got 0"},
      {"  compression_level: 10\n", "test.yml:6: output.elasticsearch.compression_level: must be between 0 and 9"},
      {"  worker: 0\n", "test.yml:6: output.elasticsearch.worker: must be between 1 and 64"},
      {"  max_retries: -2\n", "test.yml:6: output.elasticsearch.max_retries: must be between -1 and"},
      {"  timeout: soon\n", "test.yml:6: output.elasticsearch.timeout:"},
      {"  backoff: {init: 10s, max: 1s}\n", "output.elasticsearch.backoff.max: must not be less than backoff.init"},
      {"  protocol: ftp\n", "test.yml:6: output.elasticsearch.protocol: \"ftp\" is not one of: http, https"},
      {"  api_key: nocolon\n", "test.yml:6: output.elasticsearch.api_key: must be \"id:api_key\""},
      {"  username: u\n  api_key: 'a:b'\n", "test.yml:7: output.elasticsearch.api_key: api_key and username/password are exclusive"},
      {"  password: p\n", "test.yml:6: output.elasticsearch.password: a password needs a username"},
      {"  index: 'a,b'\n", "test.yml:6: output.elasticsearch.index: \"a,b\" is not a valid Elasticsearch index name"},
      {"  index: 'fim-%{[host.name]}'\n", "test.yml:6: output.elasticsearch.index: \"fim-%{[host.name]}\": %{[host.name]} is not supported"},
      {"  index: 'fim-%{+yyyy.ww}'\n", "date pattern \"yyyy.ww\" is not supported"},
      {"  pipeline: 'p-%{[agent.name]}'\n", "test.yml:6: output.elasticsearch.pipeline: must be the name of an ingest pipeline"},
      {"  proxy_url: proxy:3128\n", "test.yml:6: output.elasticsearch.proxy_url: must be a URL"},
      {"  ssl.verification_mode: off\n", "test.yml:6: output.elasticsearch.ssl.verification_mode: \"off\" is not one of: full, strict, certificate, none"},
      {"  ssl.certificate: /c.pem\n", "test.yml:6: output.elasticsearch.ssl.key: ssl.certificate and ssl.key go together"},
      {"  ssl.ca_trusted_fingerprint: abc\n", "test.yml:6: output.elasticsearch.ssl.ca_trusted_fingerprint: must be the SHA-256 fingerprint"},
      {"  non_indexable_policy: {dead_letter_index: {}}\n", "output.elasticsearch.non_indexable_policy.dead_letter_index.index: the dead letter index name is required"},
      {"  non_indexable_policy: {keep: ~}\n", "test.yml:6: output.elasticsearch.non_indexable_policy.keep: unknown policy \"keep\""},
      {"  bulk_max_sise: 5\n", "did you mean \"output.elasticsearch.bulk_max_size\"?"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.options);
    const std::string errors = errorsOf(es(c.options));
    CAPTURE(errors);
    CHECK(errors.find(c.expected) != std::string::npos);
  }
}

TEST_CASE("hosts are checked one by one") {
  CHECK(errorsOf(kModule + "output.elasticsearch.hosts: ['https://es:9200', 'es:1', '[::1]:9200', 'http://u:p@es/x']\n").empty());
  const std::string errors = errorsOf(kModule + "output.elasticsearch.hosts: ['ftp://es', 'es:0', 'es:x', 'https://']\n");
  CHECK(errors.find("test.yml:4: output.elasticsearch.hosts: \"ftp://es\" scheme \"ftp\" is not http or https") != std::string::npos);
  CHECK(errors.find("\"es:0\" port \"0\" is not a number between 1 and 65535") != std::string::npos);
  CHECK(errors.find("\"es:x\" port \"x\"") != std::string::npos);
  CHECK(errors.find("\"https://\" has no host name") != std::string::npos);
}

TEST_CASE("setup.* options: index management and kibana acted on, template settings warned about") {
  auto loaded = loadYaml(es("") + "setup.template.enabled: false\nsetup.dashboards.enabled: true\nsetup.kibana.host: k:5601\n"
                                  "setup.template.settings.index.number_of_shards: 1\n");
  REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().message()));
  CHECK_FALSE(loaded->config.setup.templateEnabled);
  CHECK(loaded->config.setup.dashboards.enabled);
  CHECK(loaded->config.setup.kibana.host == "k:5601");
  const std::string warnings = warningsOf(*loaded);
  CHECK(warnings.find("setup.dashboards.enabled") == std::string::npos);
  CHECK(warnings.find("setup.kibana.host") == std::string::npos);
  CHECK(warnings.find("setup.template.settings.index.number_of_shards") != std::string::npos);
  CHECK(warnings.find("setup.template.enabled") == std::string::npos);
  CHECK(errorsOf(es("") + "setup.ilm.policy_name: 'a b'\n").find("test.yml:6: setup.ilm.policy_name") != std::string::npos);
  CHECK(errorsOf(es("") + "setup.template.enabled: sometimes\n").find("test.yml:6: setup.template.enabled") != std::string::npos);
}

TEST_CASE("secrets of output.elasticsearch are redacted by export config") {
  auto loaded = loadYaml(es("  username: u\n  password: pw-secret\n  ssl.key_passphrase: kp-secret\n"
                            "  proxy_url: 'http://user:proxy-secret@proxy:3128'\n"));
  REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().message()));
  const std::string yaml = config::exportYaml(loaded->config);
  for (const char* secret : {"pw-secret", "kp-secret", "proxy-secret"}) {
    CAPTURE(secret);
    CHECK(yaml.find(secret) == std::string::npos);
  }
}
