#include <doctest/doctest.h>

#include "config_test_support.h"

using namespace fim;

namespace {
const std::string kHead = "fimbeat.modules:\n- module: file_integrity\n  paths: [/etc]\n";
const std::string kOutput = "output.file.path: /tmp/e\n";
}  // namespace

TEST_CASE("diff.*: off by default, with limits and secret-store exclusions, each key read and checked") {
  auto plain = testing::loadYaml(kHead + kOutput);
  REQUIRE(plain.has_value());
  const auto& d = plain->config.modules.at(0).diff;
  CHECK_FALSE(d.enabled);
  CHECK(d.maxFileSize == 64 * 1024);
  CHECK(d.maxStorage == 100ull * 1024 * 1024);
  CHECK_FALSE(d.excludeFiles.empty());
  CHECK_FALSE(d.redact.empty());

  auto set = testing::loadYaml(kHead +
                               "  diff:\n    enabled: true\n    max_file_size: 8KiB\n    max_storage: 1MiB\n"
                               "    max_diff_size: 2KiB\n    exclude_files: ['\\.secret$']\n    redact: ['^pin=']\n" +
                               kOutput);
  REQUIRE_MESSAGE(set.has_value(), (set ? "" : set.error().message()));
  const auto& s = set->config.modules.at(0).diff;
  CHECK(s.enabled);
  CHECK(s.maxFileSize == 8 * 1024);
  CHECK(s.maxStorage == 1024 * 1024);
  CHECK(s.maxDiffSize == 2 * 1024);
  CHECK(s.excludeFiles == std::vector<std::string>{"\\.secret$"});
  CHECK(s.redact == std::vector<std::string>{"^pin="});

  CHECK(testing::errorsOf(kHead + "  diff:\n    redact: ['(unclosed']\n" + kOutput)
            .find("test.yml:5: fimbeat.modules.0.diff.redact.0: invalid regular expression") != std::string::npos);
  CHECK(testing::errorsOf(kHead + "  diff:\n    enabeld: true\n" + kOutput).find("fimbeat.modules.0.diff.enabeld") !=
        std::string::npos);
}
