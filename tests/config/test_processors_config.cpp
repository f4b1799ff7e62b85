// Processors and conditions in the config: typed at load time, every mistake named with its line.

#include <doctest/doctest.h>

#include <algorithm>

#include "config_test_support.h"

using namespace fim;
using namespace fim::testing;

namespace {

// Lines 1-4; processors start at line 5.
const std::string kHead = "fimbeat.modules:\n- module: file_integrity\n  paths: [/etc]\noutput.file.path: /tmp/e\n";

struct Case {
  const char* name;
  std::string yaml;  // appended to kHead
  std::string expected;
};

config::Config loadOk(const std::string& yaml) {
  auto loaded = loadYaml(kHead + yaml);
  REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().message()));
  return loaded->config;
}

std::size_t countWarnings(const config::Loaded& loaded, std::string_view text) {
  return static_cast<std::size_t>(std::count_if(loaded.warnings.begin(), loaded.warnings.end(), [&](const auto& w) {
    return w.describe().find(text) != std::string::npos;
  }));
}

}  // namespace

TEST_CASE("bad processor configs are reported with their key path and line") {
  const Case cases[] = {
      {"processors not a list", "processors: {add_tags: {tags: [a]}}\n",
       "test.yml:5: processors: expected a list of processors, got a map"},
      {"unknown processor with suggestion", "processors:\n- add_tag: {tags: [a]}\n",
       "test.yml:6: processors.0.add_tag: unknown processor \"add_tag\"; did you mean \"add_tags\"?"},
      {"unknown processor option", "processors:\n- add_tags:\n    tags: [a]\n    targt: labels\n",
       "test.yml:8: processors.0.add_tags.targt: unknown option \"targt\"; did you mean \"processors.0.add_tags.target\"?"},
      {"add_tags without tags", "processors:\n- add_tags: {target: x}\n",
       "processors.0.add_tags.tags: is required"},
      {"add_fields without fields", "processors:\n- add_fields: {target: project}\n",
       "processors.0.add_fields.fields: is required"},
      {"add_fields with a list of fields", "processors:\n- add_fields:\n    fields: [a, b]\n",
       "test.yml:7: processors.0.add_fields.fields: expected a map of field names to values, got a list"},
      {"drop_fields bad regexp", "processors:\n- drop_fields:\n    fields: [a, '/(unclosed/']\n",
       "test.yml:7: processors.0.drop_fields.fields.1: invalid regular expression \"(unclosed\": missing )"},
      {"include_fields without fields", "processors:\n- include_fields: ~\n",
       "test.yml:6: processors.0.include_fields.fields: is required"},
      {"rename without from", "processors:\n- rename:\n    fields:\n    - to: b\n",
       "test.yml:8: processors.0.rename.fields.0.from: is required: each entry needs `from` and `to`"},
      {"rename with a typo in a pair", "processors:\n- rename:\n    fields:\n    - {from: a, too: b}\n",
       "processors.0.rename.fields.0.too: unknown option \"too\""},
      {"rename fields not a list", "processors:\n- rename:\n    fields: {from: a, to: b}\n",
       "test.yml:7: processors.0.rename.fields: expected a list of `{from: a, to: b}` pairs, got a map"},
      {"rename bad boolean", "processors:\n- rename:\n    fields: [{from: a, to: b}]\n    fail_on_error: sometimes\n",
       "test.yml:8: processors.0.rename.fail_on_error: expected true or false, got \"sometimes\""},
      {"unknown condition with suggestion", "processors:\n- drop_event:\n    when:\n      equal: {a: b}\n",
       "test.yml:8: processors.0.drop_event.when.equal: unknown condition \"equal\"; did you mean \"equals\"?"},
      {"two operators in one condition", "processors:\n- drop_event:\n    when:\n      equals: {a: b}\n      contains: {c: d}\n",
       "test.yml:8: processors.0.drop_event.when: a condition holds exactly one operator, got 2 (equals, contains)"},
      {"condition not a map", "processors:\n- drop_event:\n    when: yes\n",
       "test.yml:7: processors.0.drop_event.when: expected a condition such as"},
      {"equals with a list", "processors:\n- drop_event:\n    when.equals.event.action: [a, b]\n",
       "test.yml:7: processors.0.drop_event.when.equals.event.action: expected a single value"},
      {"bad regexp condition", "processors:\n- drop_event:\n    when:\n      regexp:\n        file.path: '(?P<x'\n",
       "test.yml:9: processors.0.drop_event.when.regexp.file.path: invalid regular expression \"(?P<x\""},
      {"range without bounds", "processors:\n- drop_event:\n    when:\n      range:\n        file.size: 10\n",
       "test.yml:9: processors.0.drop_event.when.range.file.size: range needs bounds such as `range: {file.size.gte: 1024}`; \"size\" is not one of gt, gte, lt, lte"},
      {"range operator typo", "processors:\n- drop_event:\n    when:\n      range:\n        file.size.gtee: 10\n",
       "when.range.file.size.gtee: range needs bounds such as `range: {file.size.gte: 1024}`; \"gtee\" is not one of gt, gte, lt, lte; did you mean \"gte\"?"},
      {"range bound not a number", "processors:\n- drop_event:\n    when:\n      range.file.size.lt: big\n",
       "test.yml:8: processors.0.drop_event.when.range.file.size.lt: expected a number, got \"big\""},
      {"empty range", "processors:\n- drop_event:\n    when:\n      range: {}\n",
       "processors.0.drop_event.when.range: range expects a map of fields to values"},
      {"bad CIDR", "processors:\n- drop_event:\n    when:\n      network:\n        source.ip: 10.0.0.0/33\n",
       "test.yml:9: processors.0.drop_event.when.network.source.ip: \"10.0.0.0/33\" is neither a CIDR"},
      {"bad CIDR in a list", "processors:\n- drop_event:\n    when:\n      network:\n        source.ip: [private, 'fe80::/ab']\n",
       "processors.0.drop_event.when.network.source.ip.1: \"fe80::/ab\" is neither a CIDR"},
      {"named network typo", "processors:\n- drop_event:\n    when.network.source.ip: privat\n",
       "did you mean \"private\"?"},
      {"has_fields not a list", "processors:\n- drop_event:\n    when.has_fields: {a: b}\n",
       "test.yml:7: processors.0.drop_event.when.has_fields: has_fields expects a list of field names"},
      {"or with a map", "processors:\n- drop_event:\n    when:\n      or: {equals: {a: b}}\n",
       "test.yml:8: processors.0.drop_event.when.or: or expects a list of conditions"},
      {"nested bad condition keeps its path", "processors:\n- drop_event:\n    when:\n      and:\n      - equals: {a: b}\n      - not:\n          regexp: {c: '['}\n",
       "test.yml:11: processors.0.drop_event.when.and.1.not.regexp.c: invalid regular expression \"[\""},
      {"unknown cloud provider", "processors:\n- add_cloud_metadata:\n    providers: [aws, gpc]\n",
       "test.yml:7: processors.0.add_cloud_metadata.providers.1: unknown cloud provider \"gpc\"; did you mean \"gcp\"?"},
      {"bad cache.ttl", "processors:\n- add_host_metadata:\n    cache.ttl: soon\n",
       "test.yml:7: processors.0.add_host_metadata.cache.ttl:"},
      {"if without then", "processors:\n- if.equals.a: b\n",
       "processors.0.then: is required"},
      {"bad processor inside then", "processors:\n- if.equals.a: b\n  then:\n  - add_tags: {tagz: [x]}\n",
       "test.yml:8: processors.0.then.0.add_tags.tagz: unknown option \"tagz\""},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const std::string errors = errorsOf(kHead + c.yaml);
    CAPTURE(errors);
    CHECK(errors.find(c.expected) != std::string::npos);
  }
  const std::string moduleErrors = errorsOf(
      "fimbeat.modules:\n- module: file_integrity\n  paths: [/etc]\n  processors:\n  - rename:\n      fields: [{to: x}]\n"
      "output.file.path: /tmp/e\n");
  CHECK(moduleErrors.find("test.yml:6: fimbeat.modules.0.processors.0.rename.fields.0.from: is required") != std::string::npos);
}

TEST_CASE("processors are decoded into typed configs") {
  const auto config = loadOk(
      "processors:\n"
      "- add_fields:\n"
      "    target: project\n"
      "    fields: {name: myproject, id: 574734885120952459, labels: {env: prod}}\n"
      "- add_tags: {tags: [web, pci]}\n"
      "- drop_fields:\n"
      "    fields: [file.mtime, '/^file\\.hash\\./', '@timestamp']\n"
      "    ignore_missing: true\n"
      "- include_fields: {fields: [file.path]}\n"
      "- rename:\n"
      "    fields: [{from: file.path, to: file.target}]\n"
      "    fail_on_error: false\n"
      "- drop_event:\n"
      "    when:\n"
      "      and:\n"
      "      - equals: {event.action: deleted, file.size: 0}\n"
      "      - range: {file.size.gte: 10, file.size.lt: 20.5}\n"
      "      - not.network.host.ip: [private, '2001:db8::/32']\n");
  REQUIRE(config.processors.size() == 6);
  const auto& addFields = std::get<config::AddFieldsConfig>(config.processors[0].options);
  CHECK(addFields.target == "project");
  CHECK(addFields.fields.find("labels.env")->scalar == "prod");
  const auto& addTags = std::get<config::AddTagsConfig>(config.processors[1].options);
  CHECK(addTags.target == "tags");
  CHECK(addTags.tags == std::vector<std::string>{"web", "pci"});
  const auto& drop = std::get<config::DropFieldsConfig>(config.processors[2].options);
  CHECK(drop.fields == std::vector<std::string>{"file.mtime"});
  CHECK(drop.patterns == std::vector<std::string>{"^file\\.hash\\."});
  CHECK(drop.ignoreMissing);
  const auto& rename = std::get<config::RenameConfig>(config.processors[4].options);
  REQUIRE(rename.fields.size() == 1);
  CHECK(rename.fields[0].from == "file.path");
  CHECK(rename.fields[0].to == "file.target");
  CHECK_FALSE(rename.failOnError);
  CHECK_FALSE(rename.ignoreMissing);
  const auto& when = *config.processors[5].when;
  CHECK((when.kind == config::ConditionKind::And));
  REQUIRE(when.children.size() == 3);
  const auto& equals = when.children[0];
  REQUIRE(equals.terms.size() == 2);
  CHECK(equals.terms[0].field == "event.action");
  CHECK(equals.terms[1].field == "file.size");
  CHECK(equals.terms[1].value == "0");
  const auto& range = when.children[1];
  REQUIRE(range.terms.size() == 1);
  CHECK(range.terms[0].field == "file.size");
  CHECK(range.terms[0].gte == 10.0);
  CHECK(range.terms[0].lt == 20.5);
  CHECK_FALSE(range.terms[0].gt.has_value());
  const auto& notNetwork = when.children[2];
  CHECK((notNetwork.kind == config::ConditionKind::Not));
  REQUIRE(notNetwork.children.size() == 1);
  CHECK(notNetwork.children[0].terms[0].networks == std::vector<std::string>{"private", "2001:db8::/32"});
}

TEST_CASE("quoting in equals and add_fields follows YAML typing") {
  const auto config = loadOk("processors:\n- drop_event.when.equals:\n    a: '5'\n    b: 5\n");
  const auto& terms = config.processors[0].when->terms;
  REQUIRE(terms.size() == 2);
  CHECK(terms[0].quoted);
  CHECK_FALSE(terms[1].quoted);
}

TEST_CASE("module processors stay with their module, metadata processors configure the enrichers") {
  auto loaded = loadYaml(
      "fimbeat.modules:\n- module: file_integrity\n  paths: [/etc]\n  processors:\n  - add_tags: {tags: [etc]}\n"
      "  - add_cloud_metadata: ~\n"
      "output.file.path: /tmp/e\n"
      "processors:\n"
      "- add_host_metadata:\n    netinfo.enabled: false\n    cache.ttl: 10m\n    geo.name: dc1\n"
      "- add_cloud_metadata:\n    timeout: 500ms\n    providers: [aws, gcp]\n    overwrite: true\n    host: 127.0.0.1:8080\n");
  REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().message()));
  const auto& config = loaded->config;
  REQUIRE(config.modules[0].processors.size() == 2);
  CHECK(config.modules[0].processors[0].name == "add_tags");
  CHECK(config.processors.size() == 2);
  CHECK_FALSE(config.hostMetadata.netinfo);
  CHECK(config.hostMetadata.cacheTtl == std::chrono::minutes(10));
  CHECK(config.cloudMetadata.enabled);
  CHECK(config.cloudMetadata.timeout == std::chrono::milliseconds(500));
  CHECK(config.cloudMetadata.providers == std::vector<std::string>{"aws", "gcp"});
  CHECK(config.cloudMetadata.overwrite);
  CHECK(config.cloudMetadata.host == "127.0.0.1:8080");
  CHECK(countWarnings(*loaded, "test.yml:6: fimbeat.modules.0.processors.1.add_cloud_metadata: only the top-level processors") == 1);
  CHECK(countWarnings(*loaded, "processors.0.add_host_metadata.geo.name: accepted but not implemented") == 1);
  CHECK(loaded->warnings.size() == 2);
}

TEST_CASE("cloud metadata stays off without the processor") {
  const auto config = loadOk("processors:\n- add_host_metadata: ~\n");
  CHECK_FALSE(config.cloudMetadata.enabled);
  CHECK(config.hostMetadata.netinfo);
}

TEST_CASE("processors fimbeat does not run get exactly one warning, the ones it runs get none") {
  auto loaded = loadYaml(kHead +
                         "processors:\n- add_host_metadata: ~\n- add_nomad_metadata: ~\n"
                         "- add_cloudfoundry_metadata:\n    api_address: https://api.example\n"
                         "- add_tags: {tags: [a]}\n- drop_event.when.equals.a: b\n- add_docker_metadata: ~\n"
                         "- add_kubernetes_metadata:\n    host: node-1\n    namespace: x\n"
                         "- add_process_metadata: ~\n- add_observer_metadata: ~\n");
  REQUIRE(loaded.has_value());
  CHECK(countWarnings(*loaded, "test.yml:7: processors.1.add_nomad_metadata: processor accepted but not implemented") == 1);
  CHECK(countWarnings(*loaded, "test.yml:8: processors.2.add_cloudfoundry_metadata: processor accepted but not implemented") == 1);
  CHECK(loaded->warnings.size() == 2);
  CHECK(loaded->config.processors.size() == 7);
}

TEST_CASE("drop_fields never drops @timestamp or type, and says so") {
  auto loaded = loadYaml(kHead + "processors:\n- drop_fields:\n    fields: ['@timestamp', type, file.size]\n");
  REQUIRE(loaded.has_value());
  CHECK(countWarnings(*loaded, "processors.0.drop_fields.fields.0: \"@timestamp\" is never dropped") == 1);
  CHECK(countWarnings(*loaded, "processors.0.drop_fields.fields.1: \"type\" is never dropped") == 1);
  CHECK(std::get<config::DropFieldsConfig>(loaded->config.processors[0].options).fields ==
        std::vector<std::string>{"file.size"});
}

TEST_CASE("drop_event without a condition is accepted with a warning") {
  auto loaded = loadYaml(kHead + "processors:\n- drop_event: ~\n");
  REQUIRE(loaded.has_value());
  CHECK(countWarnings(*loaded, "test.yml:6: processors.0.drop_event: drop_event without `when` drops every event") == 1);
  auto gated = loadYaml(kHead + "processors:\n- if.equals.a: b\n  then:\n  - drop_event: ~\n");
  REQUIRE(gated.has_value());
  CHECK(gated->warnings.empty());
}

TEST_CASE("if/then/else is decoded with one processor or a list in each branch") {
  const auto config = loadOk(
      "processors:\n"
      "- if:\n"
      "    contains.file.path: /etc/\n"
      "  then:\n"
      "    add_tags: {tags: [etc]}\n"
      "  else:\n"
      "  - add_tags: {tags: [other]}\n"
      "  - drop_fields: {fields: [file.mtime]}\n");
  REQUIRE(config.processors.size() == 1);
  const auto& branch = std::get<config::IfConfig>(config.processors[0].options);
  CHECK((branch.condition.kind == config::ConditionKind::Contains));
  CHECK(branch.then.size() == 1);
  CHECK(branch.otherwise.size() == 2);
}

TEST_CASE("metadata processors: Beats' options and defaults are read") {
  const auto config = loadOk(
      "processors:\n"
      "- add_observer_metadata: {netinfo.enabled: false, cache.ttl: 1m, overwrite: true, geo: {name: dc1, location: '1.5, -2'}}\n"
      "- add_process_metadata: {match_pids: [p.pid], target: t, include_fields: [process.name, container.id], "
      "overwrite_keys: true, restricted_fields: true, host_path: /hostfs, cgroup_prefixes: [/kubepods]}\n"
      "- add_docker_metadata: {host: 'tcp://127.0.0.1:2375', match_fields: [container.id], match_short_id: true, "
      "labels.dedot: false, cleanup_timeout: 2m, ssl: {certificate_authority: /ca.pem}}\n"
      "- add_kubernetes_metadata: {kube_config: /k, node: n1, scope: cluster, namespace: shop, "
      "default_indexers.enabled: false, indexers: [{pod_uid: ~}, {ip_port: ~}], matchers: [{fields: {lookup_fields: [a]}}, "
      "{logs_path: {logs_path: /var/log/containers/}}], include_annotations: [team], labels.dedot: false, "
      "add_resource_metadata: {node: {enabled: false}, namespace: {include_labels: [x]}}}\n"
      "- add_process_metadata: ~\n- add_docker_metadata: ~\n");
  using config::MetadataProcessorConfig;
  const auto& observer = std::get<config::ObserverMetadataConfig>(std::get<MetadataProcessorConfig>(config.processors[0].options).options);
  CHECK_FALSE(observer.netinfo);
  CHECK(observer.cacheTtl == std::chrono::minutes(1));
  CHECK(observer.overwrite);
  REQUIRE(observer.geo.has_value());
  CHECK(observer.geo->location == "1.5, -2");
  const auto& process = std::get<config::ProcessMetadataConfig>(std::get<MetadataProcessorConfig>(config.processors[1].options).options);
  CHECK(process.matchPids == std::vector<std::string>{"p.pid"});
  CHECK(process.includeFields == std::vector<std::string>{"process.name", "container.id"});
  CHECK(process.cgroupRegex.empty());  // prefixes set: no default regex
  CHECK(process.hostPath == "/hostfs");
  const auto& docker = std::get<config::DockerMetadataConfig>(std::get<MetadataProcessorConfig>(config.processors[2].options).options);
  CHECK(docker.host == "tcp://127.0.0.1:2375");
  CHECK(docker.matchShortId);
  CHECK_FALSE(docker.labelsDedot);
  CHECK(docker.cleanupTimeout == std::chrono::minutes(2));
  REQUIRE(docker.ssl.has_value());
  CHECK(docker.ssl->certificateAuthority == "/ca.pem");
  const auto& k8s = std::get<config::KubernetesMetadataConfig>(std::get<MetadataProcessorConfig>(config.processors[3].options).options);
  CHECK(k8s.node == "n1");
  CHECK(k8s.scope == "cluster");
  CHECK(k8s.indexers == std::vector<std::string>{"pod_uid", "ip_port"});
  REQUIRE(k8s.matchers.size() == 2);
  CHECK(k8s.matchers[1].logsPath == "/var/log/containers/");
  CHECK_FALSE(k8s.defaultIndexers);
  CHECK(k8s.defaultMatchers);
  CHECK_FALSE(k8s.pod.labelsDedot);
  CHECK_FALSE(k8s.nodeMetadata.enabled);
  CHECK(k8s.namespaceMetadata.includeLabels == std::vector<std::string>{"x"});
  const auto& defaults = std::get<config::ProcessMetadataConfig>(std::get<MetadataProcessorConfig>(config.processors[4].options).options);
  CHECK(defaults.matchPids == std::vector<std::string>{"process.pid", "process.parent.pid"});
  CHECK(defaults.cgroupRegex == config::kDefaultCgroupRegex);
  CHECK(defaults.ignoreMissing);
  CHECK_FALSE(defaults.overwriteKeys);
  const auto& dockerDefaults = std::get<config::DockerMetadataConfig>(std::get<MetadataProcessorConfig>(config.processors[5].options).options);
  CHECK(dockerDefaults.host == "unix:///var/run/docker.sock");
  CHECK(dockerDefaults.matchPids == std::vector<std::string>{"process.pid", "process.parent.pid"});
  CHECK(dockerDefaults.labelsDedot);
  CHECK(dockerDefaults.cleanupTimeout == std::chrono::seconds(60));
}

TEST_CASE("metadata processors: bad options are errors naming the key") {
  for (const auto& [yaml, wanted] : std::vector<std::pair<std::string, std::string>>{
           {"- add_observer_metadata: {geo: {location: north}}\n",
            "processors.0.add_observer_metadata.geo.location: \"north\" is not a latitude and longitude"},
           {"- add_process_metadata: {include_fields: [process.nmae]}\n",
            "processors.0.add_process_metadata.include_fields.0: field 'process.nmae' not found; did you mean \"process.name\"?"},
           {"- add_process_metadata: {include_fields: [process.env]}\n", "process.env needs `restricted_fields: true`"},
           {"- add_process_metadata: {cgroup_regex: 'docker-[0-9a-f]+'}\n",
            "processors.0.add_process_metadata.cgroup_regex: must contain exactly one capturing group"},
           {"- add_process_metadata: {match_pids: []}\n", "processors.0.add_process_metadata.match_pids: is required"},
           {"- add_docker_metadata: {host: /var/run/docker.sock}\n", "processors.0.add_docker_metadata.host: \"/var/run/docker.sock\" is not a Docker host"},
           {"- add_docker_metadata: {wait_for_metadata_retry_period: 0s}\n", "must be greater than zero"},
           {"- add_kubernetes_metadata: {indexers: [{containers: ~}]}\n", "unknown indexer \"containers\""},
           {"- add_kubernetes_metadata: {matchers: [{fields: ~}]}\n", "lookup_fields: is required"},
           {"- add_kubernetes_metadata: {scope: region}\n", "processors.0.add_kubernetes_metadata.scope"},
       }) {
    CAPTURE(yaml);
    const std::string errors = errorsOf(kHead + "processors:\n" + yaml);
    CHECK_MESSAGE(errors.find(wanted) != std::string::npos, errors);
  }
}
