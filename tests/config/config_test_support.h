#pragma once
// Loads YAML text with a fixed environment and home, as the tests of the config stage need.

#include <map>
#include <string>
#include <vector>

#include "config/loader.h"

namespace fim::testing {

inline config::LoadOptions testOptions(std::vector<std::string> overrides = {},
                                       std::map<std::string, std::string> env = {}) {
  config::LoadOptions options;
  options.overrides = std::move(overrides);
  options.defaultHome = "/opt/fim";
  options.environment = [env](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(std::string(name));
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  return options;
}

inline core::Result<config::Loaded> loadYaml(const std::string& yaml, std::vector<std::string> overrides = {},
                                             std::map<std::string, std::string> env = {}) {
  return config::loadText(yaml, "test.yml", testOptions(std::move(overrides), std::move(env)));
}

// The error report of a config that must fail ("" when it loaded).
inline std::string errorsOf(const std::string& yaml, std::vector<std::string> overrides = {},
                            std::map<std::string, std::string> env = {}) {
  auto loaded = loadYaml(yaml, std::move(overrides), std::move(env));
  return loaded ? std::string() : loaded.error().message();
}

inline std::string warningsOf(const config::Loaded& loaded) {
  std::string out;
  for (const auto& w : loaded.warnings) out += w.describe() + "\n";
  return out;
}

inline const std::string kMinimal =
    "fimbeat.modules:\n"
    "- module: file_integrity\n"
    "  paths: [/etc]\n"
    "output.file:\n"
    "  path: /tmp/events\n";

}  // namespace fim::testing
