#include "app/cli.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "management/approval_command.h"

namespace fim::app {
namespace {

// Beats parse their command line with cobra/pflag after rewriting every "-name" longer than two
// characters into "--name" (libbeat/cmd/root.go), and register Go's one-letter flags with the
// letter as both name and shorthand. So `-c`, `--c`, `-path.home`, `--path.home`,
// `-strict.perms=false` all work, names are matched exactly (no abbreviations), and a boolean
// takes its value only after '='. This table is that flag set.
enum class Kind { Bool, String, Strings };
// Where a flag may appear: anywhere, or only with the commands its scope names (scopeAllows).
enum class Scope { Global, Setup, ExportDashboard, Enroll, Status, KeystoreAdd, Force, Approve };

struct Flag {
  std::string_view name;
  char shorthand;
  Kind kind;
  Scope scope;
  std::string_view valueName;
  std::string_view help;
};

constexpr Flag kFlags[] = {
    {"help", 'h', Kind::Bool, Scope::Global, "", "show this help"},
    {"c", 'c', Kind::Strings, Scope::Global, "FILE", "configuration file, relative to path.config (default fimbeat.yml)"},
    {"config", 0, Kind::Strings, Scope::Global, "FILE", "same as -c"},
    {"e", 'e', Kind::Bool, Scope::Global, "", "log to stderr and not to files"},
    {"v", 'v', Kind::Bool, Scope::Global, "", "log at least at info level"},
    {"d", 'd', Kind::Strings, Scope::Global, "SELECTORS", "debug logging for these components, comma-separated; '*' for all"},
    {"E", 'E', Kind::Strings, Scope::Global, "key=value", "override a configuration setting (repeatable)"},
    {"path.home", 0, Kind::String, Scope::Global, "DIR", "home directory (default: the binary's directory)"},
    {"path.config", 0, Kind::String, Scope::Global, "DIR", "configuration directory (default: path.home)"},
    {"path.data", 0, Kind::String, Scope::Global, "DIR", "data directory (default: <path.home>/data)"},
    {"path.logs", 0, Kind::String, Scope::Global, "DIR", "logs directory (default: <path.home>/logs)"},
    {"strict.perms", 0, Kind::Bool, Scope::Global, "", "refuse a config file that others can write (default true)"},
    {"index-management", 0, Kind::Bool, Scope::Setup, "", "setup: install the ILM policy and the index template"},
    {"dashboards", 0, Kind::Bool, Scope::Setup, "", "setup: import the Kibana dashboards"},
    {"id", 0, Kind::String, Scope::ExportDashboard, "ID", "export dashboard: the dashboard's id"},
    {"folder", 0, Kind::String, Scope::ExportDashboard, "DIR", "export dashboard: write the objects to DIR/<type>/<id>.json"},
    {"environment", 0, Kind::String, Scope::Global, "ENV",
     "where fimbeat runs: default, systemd (stderr for the journal, without timestamps), container (stderr), "
     "macos_service, windows_service"},
    {"force", 0, Kind::Bool, Scope::Force, "", "keystore create/add: replace what exists; enroll: enroll again"},
    {"stdin", 0, Kind::Bool, Scope::KeystoreAdd, "", "keystore add: read the value from standard input"},
    {"url", 0, Kind::Strings, Scope::Enroll, "URL", "enroll: the Fleet Server URL, https://host:8220 (repeatable)"},
    {"enrollment-token", 0, Kind::String, Scope::Enroll, "TOKEN", "enroll: the enrollment token from Kibana's Fleet"},
    {"tag", 0, Kind::Strings, Scope::Enroll, "TAG", "enroll: a tag for the agent (repeatable)"},
    {"certificate-authorities", 0, Kind::Strings, Scope::Enroll, "FILE",
     "enroll: a PEM file of CAs that sign Fleet Server's certificate (repeatable)"},
    {"insecure", 0, Kind::Bool, Scope::Enroll, "", "enroll: do not verify Fleet Server's TLS certificate"},
    {"proxy-url", 0, Kind::String, Scope::Enroll, "URL", "enroll: a proxy for Fleet Server"},
    {"json", 0, Kind::Bool, Scope::Status, "", "status: print the state as JSON"},
    {"paths", 0, Kind::Strings, Scope::Approve, "PATH", "approve: an approved path and everything under it (repeatable)"},
    {"for", 0, Kind::String, Scope::Approve, "DURATION", "approve: how long the window stays open (30m, 2h, 1h30m)"},
    {"reason", 0, Kind::String, Scope::Approve, "TEXT", "approve: why, such as a change ticket (CHG-1234)"},
    {"list", 0, Kind::Bool, Scope::Approve, "", "approve: list the current approvals"},
    {"revoke", 0, Kind::String, Scope::Approve, "ID", "approve: end an approval now"},
};

// Flags other beats (or Go's runtime) document that fimbeat has no use for: refused with the reason.
const std::map<std::string, std::string, std::less<>> kRefused{
    {"once", "fimbeat watches continuously; for a one-time check of the paths run it and stop it after the scan"},
    {"N", "publishing cannot be disabled; use output.console or output.file to see events without Elasticsearch"},
    {"httpprof", "Go's profiler does not exist in fimbeat"},
    {"cpuprofile", "Go's profiler does not exist in fimbeat"},
    {"memprofile", "Go's profiler does not exist in fimbeat"},
    {"pipelines", "ingest pipelines are Filebeat's; fimbeat's documents need none"},
    {"machine-learning", "machine learning jobs are not shipped by fimbeat"},
    {"system.hostfs", "Metricbeat's flag; fimbeat reads the host's own /proc and /etc"},
};

const Flag* findFlag(std::string_view name) {
  for (const auto& flag : kFlags) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

const Flag* findShorthand(char letter) {
  for (const auto& flag : kFlags) {
    if (flag.shorthand == letter) return &flag;
  }
  return nullptr;
}

// Go's strconv.ParseBool.
std::optional<bool> parseGoBool(std::string_view text) {
  for (std::string_view yes : {"1", "t", "T", "TRUE", "true", "True"}) {
    if (text == yes) return true;
  }
  for (std::string_view no : {"0", "f", "F", "FALSE", "false", "False"}) {
    if (text == no) return false;
  }
  return std::nullopt;
}

struct Parsed {
  std::map<std::string_view, std::vector<std::string>> values;  // by the flag's name, in order
  std::vector<std::string> words;                               // the command
};

core::Result<Parsed> scan(int argc, const char* const* argv) {
  Parsed parsed;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      for (++i; i < argc; ++i) parsed.words.emplace_back(argv[i]);
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      parsed.words.push_back(arg);
      continue;
    }
    const bool shorthand = arg.size() == 2;
    std::string name = shorthand ? arg.substr(1) : arg.substr(arg[1] == '-' ? 2 : 1);
    std::optional<std::string> inlineValue;
    if (const auto eq = name.find('='); !shorthand && eq != std::string::npos) {
      inlineValue = name.substr(eq + 1);
      name.resize(eq);
    }
    const std::string shown = shorthand ? arg : "--" + name;
    const Flag* flag = shorthand ? findShorthand(name[0]) : findFlag(name);
    if (!flag) {
      if (auto refused = kRefused.find(name); refused != kRefused.end()) {
        return core::failf(core::ErrorCode::InvalidArgument, "flag {} is not supported: {}", shown, refused->second);
      }
      return core::failf(core::ErrorCode::InvalidArgument, "unknown flag: {}", shown);
    }
    std::string value;
    if (flag->kind == Kind::Bool) {
      const auto boolean = parseGoBool(inlineValue.value_or("true"));
      if (!boolean) {
        return core::failf(core::ErrorCode::InvalidArgument, "invalid argument \"{}\" for {}: expected true or false",
                           *inlineValue, shown);
      }
      value = *boolean ? "true" : "false";
    } else if (inlineValue) {
      value = *inlineValue;
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return core::failf(core::ErrorCode::InvalidArgument, "flag needs an argument: {}", shown);
    }
    parsed.values[flag->name].push_back(std::move(value));
  }
  return parsed;
}

std::vector<std::string> splitSelectors(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& value : values) {
    std::stringstream in(value);
    std::string item;
    while (std::getline(in, item, ',')) {
      if (!item.empty()) out.push_back(item);
    }
  }
  return out;
}

// `keystore create|list`, `keystore add|remove KEY`; the key goes to `key`.
std::optional<Command> keystoreCommandOf(const std::vector<std::string>& words, std::string& key) {
  if (words.size() < 2 || words[0] != "keystore") return std::nullopt;
  if (words.size() == 2 && words[1] == "create") return Command::KeystoreCreate;
  if (words.size() == 2 && words[1] == "list") return Command::KeystoreList;
  if (words.size() == 3 && (words[1] == "add" || words[1] == "remove")) {
    key = words[2];
    return words[1] == "add" ? Command::KeystoreAdd : Command::KeystoreRemove;
  }
  return std::nullopt;
}

core::Result<std::string> environmentOf(std::string value) {
  for (auto& c : value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* known : {"default", "systemd", "container", "macos_service", "windows_service"}) {
    if (value == known) return value;
  }
  return core::fail(core::ErrorCode::InvalidArgument,
                    "--environment '" + value + "' is not supported (default, systemd, container, macos_service, "
                    "windows_service)");
}

core::Result<Command> commandOf(const std::vector<std::string>& words, std::string& keystoreKey) {
  if (auto keystore = keystoreCommandOf(words, keystoreKey)) return *keystore;
  if (words.empty() || (words.size() == 1 && words[0] == "run")) return Command::Run;
  if (words.size() == 1 && words[0] == "version") return Command::Version;
  if (words.size() == 1 && words[0] == "help") return Command::Help;
  if (words.size() == 2 && words[0] == "test" && words[1] == "config") return Command::TestConfig;
  if (words.size() == 2 && words[0] == "test" && words[1] == "output") return Command::TestOutput;
  if (words.size() == 2 && words[0] == "export" && words[1] == "config") return Command::ExportConfig;
  if (words.size() == 2 && words[0] == "export" && words[1] == "template") return Command::ExportTemplate;
  if (words.size() == 2 && words[0] == "export" && words[1] == "ilm-policy") return Command::ExportIlmPolicy;
  if (words.size() == 2 && words[0] == "export" && words[1] == "dashboard") return Command::ExportDashboard;
  if (words.size() == 1 && words[0] == "setup") return Command::Setup;
  if (words.size() == 1 && words[0] == "enroll") return Command::Enroll;
  if (words.size() == 1 && words[0] == "unenroll") return Command::Unenroll;
  if (words.size() == 1 && words[0] == "status") return Command::Status;
  if (words.size() == 1 && words[0] == "approve") return Command::Approve;
  std::string joined;
  for (const auto& w : words) joined += (joined.empty() ? "" : " ") + w;
  return core::fail(core::ErrorCode::InvalidArgument, "unknown command \"" + joined + "\"");
}

bool scopeAllows(Scope scope, Command command) {
  switch (scope) {
    case Scope::Global: return true;
    case Scope::Setup: return command == Command::Setup;
    case Scope::ExportDashboard: return command == Command::ExportDashboard;
    case Scope::Enroll: return command == Command::Enroll;
    case Scope::Status: return command == Command::Status;
    case Scope::Approve: return command == Command::Approve;
    case Scope::KeystoreAdd: return command == Command::KeystoreAdd;
    case Scope::Force:
      return command == Command::KeystoreCreate || command == Command::KeystoreAdd || command == Command::Enroll;
  }
  return false;
}

std::string_view scopeText(Scope scope) {
  switch (scope) {
    case Scope::Global: return "any command";
    case Scope::Setup: return "`fimbeat setup`";
    case Scope::ExportDashboard: return "`fimbeat export dashboard`";
    case Scope::Enroll: return "`fimbeat enroll`";
    case Scope::Status: return "`fimbeat status`";
    case Scope::Approve: return "`fimbeat approve`";
    case Scope::KeystoreAdd: return "`fimbeat keystore add KEY`";
    case Scope::Force: return "`fimbeat keystore create`, `keystore add` or `enroll`";
  }
  return "";
}

// A flag given to a command it does not belong to.
core::Status checkScopes(const Parsed& parsed, Command command) {
  for (const auto& [name, values] : parsed.values) {
    const Flag* flag = findFlag(name);
    if (!scopeAllows(flag->scope, command)) {
      return core::failf(core::ErrorCode::InvalidArgument, "--{} only goes with {}", name, scopeText(flag->scope));
    }
  }
  return {};
}

const std::vector<std::string>* valuesOf(const Parsed& parsed, std::string_view name) {
  auto it = parsed.values.find(name);
  return it == parsed.values.end() ? nullptr : &it->second;
}

bool boolOf(const Parsed& parsed, std::string_view name, bool fallback) {
  const auto* values = valuesOf(parsed, name);
  return values ? values->back() == "true" : fallback;  // the last one wins, as in Go
}

std::optional<std::string> stringOf(const Parsed& parsed, std::string_view name) {
  const auto* values = valuesOf(parsed, name);
  return values ? std::optional(values->back()) : std::nullopt;
}

// `approve` does one thing: approve (--paths, --for, --reason), --list or --revoke ID.
core::Status readApproveOptions(const Parsed& parsed, CliOptions& options) {
  if (const auto* values = valuesOf(parsed, "paths")) options.approvePaths = *values;
  options.approveList = boolOf(parsed, "list", false);
  options.approveRevoke = stringOf(parsed, "revoke").value_or("");
  options.approveReason = stringOf(parsed, "reason").value_or("");
  const auto duration = stringOf(parsed, "for");
  const bool approving = !options.approvePaths.empty() || duration || !options.approveReason.empty();
  if (int(approving) + int(options.approveList) + int(!options.approveRevoke.empty()) != 1) {
    return core::fail(core::ErrorCode::InvalidArgument,
                      "`fimbeat approve` needs either --paths P --for DURATION --reason TEXT, or --list, or --revoke ID");
  }
  if (!approving) return {};
  if (options.approvePaths.empty() || !duration || options.approveReason.empty()) {
    return core::fail(core::ErrorCode::InvalidArgument,
                      "`fimbeat approve` needs --paths (at least one), --for (such as 30m) and --reason (such as a "
                      "change ticket)");
  }
  auto parsedDuration = management::parseApprovalDuration(*duration);
  if (!parsedDuration) return core::failf(core::ErrorCode::InvalidArgument, "--for {}", parsedDuration.error().message());
  options.approveFor = *parsedDuration;
  return {};
}

core::Status readOptions(const Parsed& parsed, CliOptions& options) {
  std::vector<std::string> files;
  for (const char* name : {"c", "config"}) {
    if (const auto* values = valuesOf(parsed, name)) files.insert(files.end(), values->begin(), values->end());
  }
  if (files.size() > 1) {
    return core::fail(core::ErrorCode::InvalidArgument,
                      "-c is given more than once: fimbeat reads one config file (Beats would merge them); merge them into one");
  }
  if (!files.empty()) options.load.configFile = files.front();
  if (const auto* values = valuesOf(parsed, "E")) options.load.overrides = *values;
  if (const auto* values = valuesOf(parsed, "d")) options.debugSelectors = splitSelectors(*values);
  options.logToStderr = boolOf(parsed, "e", false);
  options.verbose = boolOf(parsed, "v", false);
  options.load.strictPerms = boolOf(parsed, "strict.perms", true);
  options.load.pathHome = stringOf(parsed, "path.home");
  options.load.pathConfig = stringOf(parsed, "path.config");
  options.load.pathData = stringOf(parsed, "path.data");
  options.load.pathLogs = stringOf(parsed, "path.logs");
  options.indexManagement = boolOf(parsed, "index-management", false);
  options.dashboards = boolOf(parsed, "dashboards", false);
  options.dashboardId = stringOf(parsed, "id").value_or("");
  options.folder = stringOf(parsed, "folder").value_or("");
  if (auto environment = stringOf(parsed, "environment")) {
    auto known = environmentOf(*environment);
    if (!known) return std::unexpected(known.error());
    options.environment = *known;
  }
  options.force = boolOf(parsed, "force", false);
  options.fromStdin = boolOf(parsed, "stdin", false);
  if (const auto* values = valuesOf(parsed, "url")) options.fleetUrls = *values;
  options.enrollmentToken = stringOf(parsed, "enrollment-token").value_or("");
  if (const auto* values = valuesOf(parsed, "tag")) options.tags = *values;
  if (const auto* values = valuesOf(parsed, "certificate-authorities")) options.certificateAuthorities = *values;
  options.insecure = boolOf(parsed, "insecure", false);
  if (auto proxy = stringOf(parsed, "proxy-url")) options.proxyUrl = *proxy;
  options.json = boolOf(parsed, "json", false);
  if (options.command == Command::Approve) {
    if (auto approve = readApproveOptions(parsed, options); !approve) return approve;
  }
  if (options.command == Command::ExportDashboard && options.dashboardId.empty()) {
    return core::fail(core::ErrorCode::InvalidArgument,
                      "`fimbeat export dashboard` needs --id ID (the files under kibana/dashboard/ are named by id)");
  }
  return {};
}

}  // namespace

std::string usage() {
  std::ostringstream out;
  out << "Usage:\n"
         "  fimbeat [run] [flags]         watch the configured paths and ship events\n"
         "  fimbeat test config [flags]   check the configuration and exit\n"
         "  fimbeat test output [flags]   check the connection to Elasticsearch (TLS, auth, version, permission)\n"
         "  fimbeat export config [flags] print the effective configuration (secrets redacted)\n"
         "  fimbeat export template       print the index template fimbeat installs\n"
         "  fimbeat export ilm-policy     print the ILM policy fimbeat installs\n"
         "  fimbeat export dashboard --id ID [--folder DIR]  print a dashboard and its objects as setup sends them\n"
         "  fimbeat setup [--index-management] [--dashboards]  install the ILM policy and the index template in\n"
         "                                Elasticsearch, the dashboards in Kibana; without flags both\n"
         "  fimbeat enroll --url URL --enrollment-token TOKEN [--tag T]... [--certificate-authorities F]\n"
         "                 [--insecure] [--proxy-url U] [--force]   enroll in Fleet; `run` is then managed by Fleet\n"
         "  fimbeat status [--json]       the Fleet enrollment, connectivity, policy revisions and pending acks\n"
         "  fimbeat unenroll              leave Fleet (the queue and the baseline stay on disk)\n"
         "  fimbeat approve --paths P [--paths P]... --for DURATION --reason TEXT\n"
         "                                approve changes under P for a while (docs/approvals.md)\n"
         "  fimbeat approve --list        the current approvals\n"
         "  fimbeat approve --revoke ID   end an approval now\n"
         "  fimbeat keystore create [--force]        create the keystore (<path.data>/fimbeat.keystore)\n"
         "  fimbeat keystore add KEY [--stdin] [--force]  add a secret for ${KEY} (prompted, or read from stdin)\n"
         "  fimbeat keystore list         list the keystore's keys\n"
         "  fimbeat keystore remove KEY   remove a key from the keystore\n"
         "  fimbeat version               print the version\n\n"
         "Flags (as in Beats: -name and --name are the same flag, booleans take a value only as -name=false):\n";
  for (const auto& flag : kFlags) {
    std::string left = flag.shorthand ? fmt::format("-{}, --{}", flag.shorthand, flag.name) : fmt::format("    --{}", flag.name);
    if (flag.name.size() == 1) left = fmt::format("-{}", flag.name);
    if (!flag.valueName.empty()) left.append(" ").append(flag.valueName);
    out << fmt::format("  {:<28} {}\n", left, flag.help);
  }
  return out.str();
}

core::Result<CliOptions> parseCommandLine(int argc, const char* const* argv) {
  auto parsed = scan(argc, argv);
  if (!parsed) return std::unexpected(parsed.error());
  CliOptions options;
  if (boolOf(*parsed, "help", false)) {
    options.command = Command::Help;
    return options;
  }
  auto command = commandOf(parsed->words, options.keystoreKey);
  if (!command) return std::unexpected(command.error());
  options.command = *command;
  if (auto status = checkScopes(*parsed, options.command); !status) return std::unexpected(status.error());
  if (auto status = readOptions(*parsed, options); !status) return std::unexpected(status.error());
  return options;
}

}  // namespace fim::app
