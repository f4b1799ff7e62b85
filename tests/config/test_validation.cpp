#include <doctest/doctest.h>

#include "config_test_support.h"

using namespace fim;
using namespace fim::testing;

namespace {

const std::string kModuleHead = "fimbeat.modules:\n- module: file_integrity\n  paths: [/etc]\n";
const std::string kFileOutput = "output.file.path: /tmp/e\n";

// One table row: a config, and a piece of the error report it must produce.
struct Case {
  const char* name;
  std::string yaml;
  std::string expected;
};

}  // namespace

TEST_CASE("every validation message names the key path and the line") {
  const Case cases[] = {
      {"YAML syntax", "fimbeat.modules:\n  - module: [unclosed\n", "test.yml:3:1: invalid YAML"},
      {"not a map", "- a\n- b\n", "the config must be a map of settings"},
      {"unknown top-level key with suggestion", kModuleHead + kFileOutput + "outptu.console: {}\n",
       "test.yml:5: outptu: unknown option \"outptu\"; did you mean \"output\"?"},
      {"unknown module option with suggestion", kModuleHead + "  recursve: true\n" + kFileOutput,
       "test.yml:4: fimbeat.modules.0.recursve: unknown option \"recursve\"; did you mean \"fimbeat.modules.0.recursive\"?"},
      {"unknown output option with suggestion", kModuleHead + "output.file:\n  path: /x\n  rotate_every_k: 10\n",
       "test.yml:6: output.file.rotate_every_k: unknown option \"rotate_every_k\"; did you mean \"output.file.rotate_every_kb\"?"},
      {"unknown key far from any known one lists the known ones", kModuleHead + kFileOutput + "logging.zzzzzzzz: 1\n",
       "logging.zzzzzzzz: unknown option \"zzzzzzzz\"; known options here:"},
      {"bad boolean", kModuleHead + "  recursive: maybe\n" + kFileOutput,
       "test.yml:4: fimbeat.modules.0.recursive: expected true or false, got \"maybe\""},
      {"bad size", kModuleHead + "  max_file_size: lots\n" + kFileOutput,
       "test.yml:4: fimbeat.modules.0.max_file_size: invalid size \"lots\""},
      {"bad regular expression", kModuleHead + "  exclude_files: ['(unclosed']\n" + kFileOutput,
       "test.yml:4: fimbeat.modules.0.exclude_files.0: invalid regular expression \"(unclosed\": missing )"},
      {"data stream namespace with a dash", kModuleHead + kFileOutput + "data_stream.namespace: prod-eu\n",
       "test.yml:5: data_stream.namespace: \"prod-eu\" must not contain '-'"},
      {"data stream dataset in upper case", kModuleHead + kFileOutput + "data_stream:\n  dataset: FIM\n",
       "test.yml:6: data_stream.dataset: \"FIM\" must be lower case"},
      {"data stream type not known", kModuleHead + kFileOutput + "data_stream.type: events\n",
       "test.yml:5: data_stream.type:"},
      {"unknown hash type lists the valid ones", kModuleHead + "  hash_types: [sha256, sha999]\n" + kFileOutput,
       "test.yml:4: fimbeat.modules.0.hash_types.1: unknown hash type \"sha999\"; valid types are: blake2b_256, "
       "blake2b_384, blake2b_512, md5, sha1, sha224, sha256, sha384, sha512, sha512_224, sha512_256, sha3_224, "
       "sha3_256, sha3_384, sha3_512, xxh64"},
      {"bad backend", kModuleHead + "  backend: dtrace\n" + kFileOutput,
       "fimbeat.modules.0.backend: \"dtrace\" is not one of: auto, fsnotify, inotify, fanotify, kprobes, ebpf"},
      {"an unknown module names the module", "auditbeat.modules:\n- module: packetbeat\n  interfaces: ''\n" + kFileOutput,
       "test.yml:2: auditbeat.modules.0.module: unknown module \"packetbeat\": fimbeat runs only the file_integrity module"},
      {"module entry without module", "fimbeat.modules:\n- paths: [/etc]\n" + kFileOutput,
       "fimbeat.modules.0.module: each module entry needs `module: file_integrity`"},
      {"module without paths", "fimbeat.modules:\n- module: file_integrity\n" + kFileOutput,
       "fimbeat.modules.0.paths: at least one path to watch is required"},
      {"modules not a list", "fimbeat.modules: file_integrity\n" + kFileOutput,
       "test.yml:1: fimbeat.modules: expected a list of `- module: file_integrity` entries, got a value"},
      {"no module at all", kFileOutput, "fimbeat.modules: no file_integrity module is configured"},
      {"no output", kModuleHead, "output: no output is enabled: configure exactly one of output.elasticsearch, output.file or output.console"},
      {"every output disabled", kModuleHead + "output.file:\n  enabled: false\n  path: /x\n", "output: no output is enabled"},
      {"two outputs", kModuleHead + kFileOutput + "output.console.pretty: true\n",
       "output: more than one output is enabled: output.file (test.yml:4), output.console (test.yml:5); set `enabled: false` on all but one"},
      {"unsupported beats output", kModuleHead + "output.logstash.hosts: ['ls:5044']\n",
       "output.logstash: output.logstash is not supported by fimbeat"},
      {"number_of_files range", kModuleHead + "output.file:\n  path: /x\n  number_of_files: 1\n",
       "test.yml:6: output.file.number_of_files: must be between 2 and 1024, got 1"},
      {"bad permissions", kModuleHead + "output.file:\n  path: /x\n  permissions: rw\n",
       "test.yml:6: output.file.permissions: expected a file mode such as 0600, got \"rw\""},
      {"bad filename", kModuleHead + "output.file:\n  path: /x\n  filename: a/b\n", "output.file.filename: must be a plain file name"},
      {"elasticsearch without hosts", kModuleHead + "output.elasticsearch:\n  username: u\n",
       "output.elasticsearch.hosts: at least one host is required"},
      {"bad log level", kModuleHead + kFileOutput + "logging.level: loud\n",
       "test.yml:5: logging.level: \"loud\" is not one of: debug, info, warning, warn, error, critical"},
      {"bad keepfiles", kModuleHead + kFileOutput + "logging.files.keepfiles: 0\n",
       "logging.files.keepfiles: must be between 2 and 1024, got 0"},
      {"fleet.timeout not above the poll", kModuleHead + kFileOutput + "fleet.timeout: 5m\nfleet.checkin.poll_timeout: 5m\n",
       "fleet.timeout: must be longer than fleet.checkin.poll_timeout"},
      {"unknown processor with suggestion", kModuleHead + kFileOutput + "processors:\n- add_host_metdata: ~\n",
       "test.yml:6: processors.0.add_host_metdata: unknown processor \"add_host_metdata\"; did you mean \"add_host_metadata\"?"},
      {"processor entry with two processors", kModuleHead + kFileOutput + "processors:\n- add_tags: {}\n  drop_event: {}\n",
       "processors.0: each list entry must hold exactly one processor"},
      {"processors not a list", kModuleHead + kFileOutput + "processors: add_tags\n",
       "processors: expected a list of processors"},
      {"a list where one value belongs", kModuleHead + "  recursive: [true]\n" + kFileOutput,
       "fimbeat.modules.0.recursive: expected a single value, got a list"},
      {"a map where a list belongs", "fimbeat.modules:\n- module: file_integrity\n  paths: {a: b}\n" + kFileOutput,
       "fimbeat.modules.0.paths: expected a list of values, got a map"},
      {"a section that is a value", kModuleHead + "output: file\n", "test.yml:4: output: expected a map of options"},
      {"min_free neither a size nor a percentage", kModuleHead + kFileOutput + "queue.min_free: plenty\n",
       "test.yml:5: queue.min_free: \"plenty\" must be a size (\"64MiB\") or a percentage of the file system (\"5%\")"},
      {"min_free percentage out of range", kModuleHead + kFileOutput + "queue.min_free: 80%\n",
       "test.yml:5: queue.min_free: \"80%\" must be a percentage from 0% to 50%"},
      {"an alias bomb", kModuleHead + kFileOutput + "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
       "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n",
       "test.yml: the configuration expands to more than 100000 values through YAML aliases"},
  };
  for (const auto& c : cases) {
    const std::string name = c.name;
    CAPTURE(name);
    const std::string errors = errorsOf(c.yaml);
    CAPTURE(errors);
    CHECK(errors.find(c.expected) != std::string::npos);
  }
}

TEST_CASE("queue.min_free: the smaller of 64 MiB and 5 % by default, else a size or a percentage") {
  auto defaults = loadYaml(kModuleHead + kFileOutput);
  REQUIRE(defaults);
  CHECK(defaults->config.queue.minFreeBytes == std::optional<std::uint64_t>(64ull << 20));
  CHECK(defaults->config.queue.minFreePercent == std::optional<double>(5.0));
  auto bytes = loadYaml(kModuleHead + kFileOutput + "queue.min_free: 1GiB\n");
  REQUIRE(bytes);
  CHECK(bytes->config.queue.minFreeBytes == std::optional<std::uint64_t>(1ull << 30));
  CHECK_FALSE(bytes->config.queue.minFreePercent.has_value());
  auto percent = loadYaml(kModuleHead + kFileOutput + "queue.min_free: 2.5%\n");
  REQUIRE(percent);
  CHECK_FALSE(percent->config.queue.minFreeBytes.has_value());
  CHECK(percent->config.queue.minFreePercent == std::optional<double>(2.5));
}

TEST_CASE("all problems are reported at once, each on its own line") {
  const std::string errors = errorsOf(
      "fimbeat.modules:\n- module: file_integrity\n  paths: [/etc]\n  recursive: sometimes\n  hash_types: [crc32]\n"
      "output.file:\n  path: /x\n  number_of_files: 0\n  colour: blue\n");
  CHECK(errors.find("test.yml:4: fimbeat.modules.0.recursive") != std::string::npos);
  CHECK(errors.find("test.yml:5: fimbeat.modules.0.hash_types.0") != std::string::npos);
  CHECK(errors.find("test.yml:8: output.file.number_of_files") != std::string::npos);
  CHECK(errors.find("test.yml:9: output.file.colour") != std::string::npos);
  CHECK(std::count(errors.begin(), errors.end(), '\n') == 3);
}

TEST_CASE("options not implemented yet are accepted with one warning each") {
  auto loaded = loadYaml(kModuleHead + "  backend: kprobes\n  file_parsers: [file.pe.imphash]\n" + kFileOutput +
                         "setup.template.settings:\n  index.number_of_shards: 1\nseccomp: ~\n"
                         "monitoring.enabled: true\nprocessors:\n- add_nomad_metadata: ~\n");
  REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().message()));
  const std::string warnings = warningsOf(*loaded);
  CAPTURE(warnings);
  for (const char* key : {"fimbeat.modules.0.backend", "fimbeat.modules.0.file_parsers",
                          "setup.template.settings.index.number_of_shards", "seccomp", "monitoring.enabled",
                          "processors.0.add_nomad_metadata"}) {
    CAPTURE(key);
    CHECK(std::count_if(loaded->warnings.begin(), loaded->warnings.end(),
                        [&](const config::Diagnostic& d) { return d.keyPath == key; }) == 1);
  }
  CHECK(loaded->warnings.size() == 6);
}

TEST_CASE("a disabled module is not read (as in Auditbeat), a disabled second output is fine") {
  auto loaded = loadYaml(kModuleHead + "- module: file_integrity\n  enabled: false\n  paths: []\n  colour: red\n" +
                         kFileOutput + "output.console:\n  enabled: false\n");
  REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().message()));
  REQUIRE(loaded->config.modules.size() == 1);
  CHECK(loaded->config.modules[0].enabled);
  CHECK(loaded->config.output.kind == config::OutputKind::File);
}
