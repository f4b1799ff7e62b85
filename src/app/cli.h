#pragma once
// Command line as Beats parse it: `fimbeat [run]`, `test config`, `export config`, `version`;
// -name and --name are one flag, names match exactly, booleans take values only after '='.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "config/loader.h"
#include "core/result.h"

namespace fim::app {

enum class Command { Run, TestConfig, TestOutput, ExportConfig, ExportTemplate, ExportIlmPolicy, ExportDashboard, Setup,
                     Version, Help, KeystoreCreate, KeystoreAdd, KeystoreList, KeystoreRemove, Enroll, Unenroll,
                     Status, Approve };

struct CliOptions {
  Command command = Command::Run;
  config::LoadOptions load;
  bool logToStderr = false;                // -e: stderr only, no log files (as Beats)
  bool verbose = false;                    // -v: at least info level
  std::vector<std::string> debugSelectors;  // -d a,b or -d '*'
  bool indexManagement = false;             // setup --index-management
  bool dashboards = false;                  // setup --dashboards; `setup` without either does both
  std::string dashboardId;                  // export dashboard --id
  std::string folder;                       // export dashboard --folder
  // enroll (names as elastic-agent enroll's flags)
  std::vector<std::string> fleetUrls;       // --url (repeatable: several Fleet Servers)
  std::string enrollmentToken;              // --enrollment-token (secret)
  std::vector<std::string> tags;            // --tag (repeatable)
  std::vector<std::string> certificateAuthorities;  // --certificate-authorities
  bool insecure = false;                    // --insecure
  std::string proxyUrl;                     // --proxy-url
  bool json = false;                        // status --json
  // --environment, as Beats: default, systemd, container, macos_service, windows_service (lower case).
  std::string environment = "default";
  // approve: --paths P... --for D --reason R, or --list, or --revoke ID
  std::vector<std::string> approvePaths;
  std::chrono::milliseconds approveFor{0};
  std::string approveReason;
  bool approveList = false;
  std::string approveRevoke;
  std::string keystoreKey;                  // keystore add/remove KEY
  bool force = false;                       // keystore create/add --force, enroll --force
  bool fromStdin = false;                   // keystore add --stdin
};

// Unknown flags and subcommands are errors whose message is meant to be followed by usage().
[[nodiscard]] core::Result<CliOptions> parseCommandLine(int argc, const char* const* argv);

std::string usage();

}  // namespace fim::app
