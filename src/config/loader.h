#pragma once
// Loading: file → tree → -E overrides → ${} expansion → typed Config, every problem reported at once.

#include <functional>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/diagnostics.h"
#include "config/expand.h"
#include "core/result.h"

struct stat;

namespace fim::config {

struct LoadOptions {
  std::string configFile;                 // -c; default <path.config>/fimbeat.yml
  std::vector<std::string> overrides;     // -E key=value
  std::optional<std::string> pathHome;    // --path.home etc.
  std::optional<std::string> pathConfig;
  std::optional<std::string> pathData;
  std::optional<std::string> pathLogs;
  bool strictPerms = true;
  std::string defaultHome;                // where path.home falls back to (the binary's folder)
  Lookup environment = processEnvironment;
  bool requireModules = true;  // false when Fleet's policy brings the modules and the output (enrolled)
  // Opens the keystore under path.data once path.data is known; its values resolve ${NAME}
  // before the environment. Unset: no keystore. An error (a corrupt keystore) fails the load.
  std::function<core::Result<Lookup>(const std::string& dataDir)> keystore;
};

struct Loaded {
  Config config;
  std::vector<Diagnostic> warnings;
};

// On failure the Error's message lists every problem, one per line, each with its origin and key.
[[nodiscard]] core::Result<Loaded> load(const LoadOptions& options);

// Same, from YAML text instead of a file (tests, embedded defaults).
[[nodiscard]] core::Result<Loaded> loadText(const std::string& yaml, const std::string& sourceName,
                                            const LoadOptions& options);

// Only path.* (flags, then the file's path.* settings, then the defaults), for commands that need
// the directories but not a valid configuration (`fimbeat keystore`). A missing file is no error.
[[nodiscard]] core::Result<PathsConfig> loadPaths(const LoadOptions& options);

// Refuses a config file writable by group/other or owned by someone other than root or us.
[[nodiscard]] core::Status checkOwnershipAndPermissions(const std::string& file);
// The same checks on an already stat'ed (or fstat'ed) file; `what` names it in the message.
[[nodiscard]] core::Status checkOwnershipAndPermissions(const std::string& file, const struct stat& st,
                                                        std::string_view what);

// The effective config as YAML, with secrets (passwords, API keys, tokens, keystore values) redacted.
std::string exportYaml(const Config& config);

}  // namespace fim::config
