// add_observer_metadata, add_process_metadata, add_docker_metadata and add_kubernetes_metadata
// on documents, with fake sources: which fields, where, and when, as Beats decide.

#include <doctest/doctest.h>

#include <map>

#include "mapper/document_builder.h"
#include "mapper/processors/metadata_sources.h"
#include "mapper_fixtures.h"
#include "processor_test_support.h"

using namespace fim;
using namespace fim::testing;
using namespace fim::mapper::processors;

namespace {

// Fakes that record what they were asked and answer from tables.
struct Fakes final : MetadataSources {
  ObserverData observerData{"observer-1", {"10.0.0.5"}, {"02-42-AC-11-00-02"}};
  std::map<std::int64_t, ProcessMetadata> processTable;
  std::map<std::int64_t, std::string> cgroupIds;
  std::map<std::string, ContainerMetadata> containers;
  std::map<std::string, std::string> pods;
  bool dockerUp = true;
  std::vector<ProcessSourceOptions> processOptions;
  std::vector<std::string> containerAsks;

  struct Observer final : ObserverSource {
    Fakes& f;
    explicit Observer(Fakes& fakes) : f(fakes) {}
    std::shared_ptr<const ObserverData> current() override { return std::make_shared<ObserverData>(f.observerData); }
  };
  struct Processes final : ProcessSource {
    Fakes& f;
    explicit Processes(Fakes& fakes) : f(fakes) {}
    std::shared_ptr<const ProcessMetadata> process(std::int64_t pid) override {
      auto it = f.processTable.find(pid);
      return it == f.processTable.end() ? nullptr : std::make_shared<ProcessMetadata>(it->second);
    }
    std::string containerId(std::int64_t pid) override {
      auto it = f.cgroupIds.find(pid);
      return it == f.cgroupIds.end() ? "" : it->second;
    }
  };
  struct Containers final : ContainerSource {
    Fakes& f;
    explicit Containers(Fakes& fakes) : f(fakes) {}
    bool available() override { return f.dockerUp; }
    std::shared_ptr<const ContainerMetadata> container(std::string_view id) override {
      f.containerAsks.emplace_back(id);
      auto it = f.containers.find(std::string(id));
      return it == f.containers.end() ? nullptr : std::make_shared<ContainerMetadata>(it->second);
    }
  };
  struct Pods final : PodSource {
    Fakes& f;
    explicit Pods(Fakes& fakes) : f(fakes) {}
    std::shared_ptr<const PodMetadata> lookup(std::string_view index) override {
      auto it = f.pods.find(std::string(index));
      return it == f.pods.end() ? nullptr : std::make_shared<PodMetadata>(PodMetadata{it->second});
    }
  };

  core::Result<std::unique_ptr<ObserverSource>> observer(const config::ObserverMetadataConfig&) override {
    return std::unique_ptr<ObserverSource>(std::make_unique<Observer>(*this));
  }
  core::Result<std::unique_ptr<ProcessSource>> processes(const ProcessSourceOptions& options) override {
    processOptions.push_back(options);
    return std::unique_ptr<ProcessSource>(std::make_unique<Processes>(*this));
  }
  core::Result<std::unique_ptr<ContainerSource>> docker(const config::DockerMetadataConfig&) override {
    return std::unique_ptr<ContainerSource>(std::make_unique<Containers>(*this));
  }
  core::Result<std::unique_ptr<PodSource>> kubernetes(const config::KubernetesMetadataConfig&) override {
    return std::unique_ptr<PodSource>(std::make_unique<Pods>(*this));
  }
};

struct Run {
  std::string json;
  std::int64_t failures = 0;
};

Run run(Fakes& fakes, const std::string& processors, const std::string& json) {
  const auto config = loadConfig("processors:\n" + processors);
  core::Metrics metrics;
  auto chain = mapper::processors::ProcessorChain::build(config, metrics, &fakes);
  REQUIRE_MESSAGE(chain.has_value(), (chain ? "" : chain.error().message()));
  auto document = parseDocument(json);
  REQUIRE((*chain)->apply(*document, 0));
  return Run{toJson(*document), metrics.counter("enricher.processors.failures").value()};
}

ProcessMetadata vim() {
  ProcessMetadata p;
  p.pid = 4242;
  p.parentPid = 1;
  p.name = "vim";
  p.title = "vim /etc/hosts";
  p.executable = "/usr/bin/vim";
  p.args = {"vim", "/etc/hosts"};
  p.env = {{"HOME", "/root"}};
  p.startTime = core::TimePoint(std::chrono::milliseconds(1700000000123));
  p.entityId = "Cg2TPSFj2PLrPu7w";
  p.ownerId = "1000";
  p.ownerName = "alice";
  p.groupId = "100";
  p.groupName = "users";
  p.capEffective = {};
  p.capPermitted = {"CAP_CHOWN"};
  return p;
}

}  // namespace

TEST_CASE("add_observer_metadata: observer.hostname, ip, mac and geo, and an existing observer stays unless overwrite") {
  Fakes fakes;
  CHECK(run(fakes, "- add_observer_metadata: ~\n", R"({"a":1})").json ==
        R"({"a":1,"observer":{"hostname":"observer-1","ip":["10.0.0.5"],"mac":["02-42-AC-11-00-02"]}})");
  CHECK(run(fakes,
            "- add_observer_metadata:\n    geo: {name: nyc-dc1, location: '40.7128, -74.0060', city_name: '  ', "
            "country_iso_code: US}\n",
            R"({})").json ==
        R"({"observer":{"hostname":"observer-1","ip":["10.0.0.5"],"mac":["02-42-AC-11-00-02"],)"
        R"("geo":{"name":"nyc-dc1","location":"40.7128, -74.0060","country_iso_code":"US"}}})");
  CHECK(run(fakes, "- add_observer_metadata: ~\n", R"({"observer":{"foo":"bar"}})").json == R"({"observer":{"foo":"bar"}})");
  CHECK(run(fakes, "- add_observer_metadata: {overwrite: true}\n", R"({"observer":{"foo":"bar"}})").json ==
        R"({"observer":{"hostname":"observer-1","ip":["10.0.0.5"],"mac":["02-42-AC-11-00-02"]}})");
  fakes.observerData.ip.clear();
  fakes.observerData.mac.clear();  // netinfo.enabled: false gives none
  CHECK(run(fakes, "- add_observer_metadata: ~\n", R"({})").json == R"({"observer":{"hostname":"observer-1"}})");
}

TEST_CASE("add_process_metadata: process.* and container.id from the first match_pids field present") {
  Fakes fakes;
  fakes.processTable[4242] = vim();
  fakes.cgroupIds[4242] = std::string(64, 'c');
  // Who-data already set process.pid: Beats refuses to overwrite it without overwrite_keys.
  auto refused = run(fakes, "- add_process_metadata: ~\n", R"({"process":{"pid":4242}})");
  CHECK(refused.json == R"({"process":{"pid":4242}})");
  CHECK(refused.failures == 1);

  auto all = run(fakes, "- add_process_metadata: {overwrite_keys: true}\n", R"({"process":{"pid":4242}})");
  CHECK(all.failures == 0);
  auto doc = parseDocument(all.json);
  CHECK(std::string((*doc)["process"]["name"].GetString()) == "vim");
  CHECK(std::string((*doc)["process"]["title"].GetString()) == "vim /etc/hosts");
  CHECK(std::string((*doc)["process"]["executable"].GetString()) == "/usr/bin/vim");
  CHECK((*doc)["process"]["args"].Size() == 2);
  CHECK((*doc)["process"]["parent"]["pid"].GetInt64() == 1);
  CHECK(std::string((*doc)["process"]["start_time"].GetString()) == "2023-11-14T22:13:20.123Z");
  CHECK(std::string((*doc)["process"]["entity_id"].GetString()) == "Cg2TPSFj2PLrPu7w");
  CHECK(std::string((*doc)["process"]["owner"]["name"].GetString()) == "alice");
  CHECK(std::string((*doc)["process"]["owner"]["id"].GetString()) == "1000");
  CHECK(std::string((*doc)["process"]["group"]["id"].GetString()) == "100");
  CHECK(std::string((*doc)["process"]["thread"]["capabilities"]["permitted"][0].GetString()) == "CAP_CHOWN");
  CHECK_FALSE((*doc)["process"].HasMember("env"));  // restricted
  CHECK(std::string((*doc)["container"]["id"].GetString()) == std::string(64, 'c'));

  // A target, some fields, a pid given as a string in the second field, the environment.
  auto some = run(fakes,
                  "- add_process_metadata: {match_pids: [missing.pid, other.pid], target: who, restricted_fields: true, "
                  "include_fields: [process.name, process.env, container.id]}\n",
                  R"({"other":{"pid":"4242"}})");
  CHECK(some.json ==
        R"({"other":{"pid":"4242"},"who":{"process":{"name":"vim","env":{"HOME":"/root"}},"container":{"id":")" +
            std::string(64, 'c') + R"("}}})");
  // target parent: the process's fields directly under it, as Beats' constructPath.
  auto parent = run(fakes, "- add_process_metadata: {match_pids: [p], target: x.parent, include_fields: [process.name]}\n",
                    R"({"p":4242})");
  CHECK(parent.json == R"({"p":4242,"x":{"parent":{"name":"vim"}}})");
}

TEST_CASE("add_process_metadata: missing, unparsable and unknown pids, as Beats") {
  Fakes fakes;
  CHECK(run(fakes, "- add_process_metadata: ~\n", R"({"a":1})").failures == 0);  // ignore_missing: true
  CHECK(run(fakes, "- add_process_metadata: {ignore_missing: false}\n", R"({"a":1})").failures == 1);
  CHECK(run(fakes, "- add_process_metadata: {match_pids: [p]}\n", R"({"p":"x1"})").failures == 1);
  // A process that exited before it was ever read: not found, the event unchanged.
  auto gone = run(fakes, "- add_process_metadata: {match_pids: [p]}\n", R"({"p":77})");
  CHECK(gone.json == R"({"p":77})");
  CHECK(gone.failures == 1);
  // Only the container id is still known (a cgroup read): container.id alone.
  fakes.cgroupIds[78] = "abc";
  CHECK(run(fakes, "- add_process_metadata: {match_pids: [p]}\n", R"({"p":78})").json ==
        R"({"p":78,"container":{"id":"abc"}})");
}

TEST_CASE("add_process_metadata: the cgroup options reach the source as Beats reads them") {
  Fakes fakes;
  run(fakes, "- add_process_metadata: ~\n", R"({})");
  REQUIRE(fakes.processOptions.size() == 1);
  CHECK(fakes.processOptions[0].cgroupRegex == config::kDefaultCgroupRegex);
  run(fakes, "- add_process_metadata: {cgroup_prefixes: [/docker], host_path: /hostfs, cgroup_cache_expire_time: 0}\n", R"({})");
  CHECK(fakes.processOptions[1].cgroupRegex.empty());
  CHECK(fakes.processOptions[1].cgroupPrefixes == std::vector<std::string>{"/docker"});
  CHECK(fakes.processOptions[1].hostPath == "/hostfs");
  CHECK(fakes.processOptions[1].containerCacheExpiry == config::Duration::zero());
}

TEST_CASE("add_docker_metadata: container.id from log.file.path, a pid's cgroup or match_fields, then name, image, labels") {
  Fakes fakes;
  const std::string id(64, 'd');
  fakes.containers[id] = ContainerMetadata{id, "web", "nginx:1.25", {{"com.example.tier", "front"}, {"app", "shop"}}};
  fakes.cgroupIds[4242] = id;
  const std::string expected =
      R"("container":{"id":")" + id + R"(","labels":{"app":"shop","com_example_tier":"front"},"image":{"name":"nginx:1.25"},"name":"web"})";
  // match_pids (process.pid by default): container.id is set, then the container's fields.
  CHECK(run(fakes, "- add_docker_metadata: ~\n", R"({"process":{"pid":4242}})").json ==
        R"({"process":{"pid":4242},)" + expected + "}");
  // match_fields: container.id as who-data set it.
  CHECK(run(fakes, "- add_docker_metadata: {match_fields: [container.id], match_pids: []}\n",
            R"({"container":{"id":")" + id + R"("}})").json == "{" + expected + "}");
  // match_source: the fifth part of log.file.path.
  CHECK(run(fakes, "- add_docker_metadata: ~\n", R"({"log":{"file":{"path":"/var/lib/docker/containers/)" + id + R"(/x.log"}}})").json ==
        R"({"log":{"file":{"path":"/var/lib/docker/containers/)" + id + R"(/x.log"}},)" + expected + "}");
  // labels.dedot: false nests labels by their dots.
  auto nested = parseDocument(run(fakes, "- add_docker_metadata: {labels.dedot: false}\n", R"({"process":{"pid":4242}})").json);
  CHECK(std::string((*nested)["container"]["labels"]["com"]["example"]["tier"].GetString()) == "front");
  // Unknown to Docker: nothing but the id found; Docker unreachable: nothing at all.
  fakes.cgroupIds[5] = std::string(64, 'e');
  CHECK(run(fakes, "- add_docker_metadata: ~\n", R"({"process":{"pid":5}})").json ==
        R"({"process":{"pid":5},"container":{"id":")" + std::string(64, 'e') + R"("}})");
  fakes.dockerUp = false;
  CHECK(run(fakes, "- add_docker_metadata: ~\n", R"({"process":{"pid":4242}})").json == R"({"process":{"pid":4242}})");
}

TEST_CASE("add_kubernetes_metadata: the first matcher's index, its metadata merged, an enriched event left alone") {
  Fakes fakes;
  const std::string id(64, 'f');
  fakes.pods[id] = R"({"container":{"id":")" + id + R"(","runtime":"containerd","image":{"name":"nginx"}},)"
                   R"("kubernetes":{"pod":{"name":"web-1","uid":"u-1"},"namespace":"shop","node":{"name":"n1"},)"
                   R"("labels":{"app":"web"},"container":{"name":"nginx"}}})";
  fakes.pods["shop/web-1"] = R"({"kubernetes":{"pod":{"name":"web-1","uid":"u-1"},"namespace":"shop"}})";
  // fimbeat's default matcher: container.id, as who-data sets it from the cgroup.
  auto doc = parseDocument(run(fakes, "- add_kubernetes_metadata: ~\n", R"({"container":{"id":")" + id + R"("}})").json);
  CHECK(std::string((*doc)["kubernetes"]["pod"]["name"].GetString()) == "web-1");
  CHECK(std::string((*doc)["kubernetes"]["container"]["name"].GetString()) == "nginx");
  CHECK(std::string((*doc)["container"]["runtime"].GetString()) == "containerd");
  // field_format and fields matchers, in order; no default matcher when disabled.
  CHECK(run(fakes,
            "- add_kubernetes_metadata: {default_matchers.enabled: false, matchers: [{field_format: {format: "
            "'%{[ns]}/%{[pod]}'}}]}\n",
            R"({"ns":"shop","pod":"web-1"})").json ==
        R"({"ns":"shop","pod":"web-1","kubernetes":{"pod":{"name":"web-1","uid":"u-1"},"namespace":"shop"}})");
  CHECK(run(fakes, "- add_kubernetes_metadata: {default_matchers.enabled: false}\n", R"({"container":{"id":")" + id + R"("}})").json ==
        R"({"container":{"id":")" + id + R"("}})");
  CHECK(run(fakes, "- add_kubernetes_metadata: ~\n", R"({"kubernetes":{"x":1},"container":{"id":")" + id + R"("}})").json ==
        R"({"kubernetes":{"x":1},"container":{"id":")" + id + R"("}})");
}

TEST_CASE("every field the metadata processors add is declared in fields.yml: none is dropped as undeclared") {
  Fakes fakes;
  fakes.processTable[4242] = vim();
  fakes.processTable[4242].env = {{"HOME", "/root"}};
  fakes.processTable[4242].capEffective = {"CAP_CHOWN"};
  const std::string id(64, 'f');
  fakes.cgroupIds[4242] = id;
  fakes.containers[id] = ContainerMetadata{id, "web", "nginx:1.25", {{"com.example.tier", "front"}}};
  fakes.pods[id] = R"({"container":{"id":")" + id + R"(","runtime":"containerd","image":{"name":"nginx"}},)"
                   R"("kubernetes":{"pod":{"name":"web-1","uid":"u-1","ip":"10.244.1.7"},"namespace":"shop","namespace_uid":"n",)"
                   R"("namespace_labels":{"env":"prod"},"namespace_annotations":{"a":"b"},"node":{"name":"n1","uid":"u","hostname":"h",)"
                   R"("labels":{"kubernetes_io/os":"linux"},"annotations":{"x":"y"}},"labels":{"app":"web"},"annotations":{"team":"t"},)"
                   R"("replicaset":{"name":"r"},"deployment":{"name":"d"},"statefulset":{"name":"s"},"daemonset":{"name":"ds"},)"
                   R"("job":{"name":"j"},"cronjob":{"name":"c"},"container":{"name":"nginx"}}})";
  const auto config = loadConfig(
      "processors:\n- add_process_metadata: {overwrite_keys: true, restricted_fields: true}\n- add_docker_metadata: ~\n"
      "- add_kubernetes_metadata: ~\n- add_observer_metadata: {geo: {name: dc1, location: '1.5, 2', continent_name: Europe, "
      "country_name: France, country_iso_code: FR, region_name: IDF, region_iso_code: FR-IDF, city_name: Paris}}\n");
  core::Metrics metrics;
  auto chain = mapper::processors::ProcessorChain::build(config, metrics, &fakes);
  REQUIRE(chain.has_value());
  mapper::DocumentBuilder builder(config, metrics, chain->get());
  auto event = testing::enrichedEvent({events::Action::Updated}, testing::regularFile("/etc/hosts", 1));
  event.event.process = testing::editorProcess();
  const std::string json = builder.build(event);
  CAPTURE(json);
  CHECK(metrics.counter("mapper.fields.undeclared").value() == 0);
  CHECK(metrics.counter("mapper.fields.invalid").value() == 0);
  auto doc = parseDocument(json);
  for (const char* path : {"observer", "kubernetes", "container"}) CHECK((*doc).HasMember(path));
  CHECK(std::string((*doc)["process"]["owner"]["name"].GetString()) == "alice");
  CHECK(std::string((*doc)["kubernetes"]["node"]["labels"]["kubernetes_io/os"].GetString()) == "linux");
  CHECK(std::string((*doc)["container"]["labels"]["com_example_tier"].GetString()) == "front");
  CHECK(std::string((*doc)["observer"]["geo"]["city_name"].GetString()) == "Paris");
}
