#include "app/cli.h"

#include <cctype>
#include <optional>
#include <sstream>

#include <boost/program_options.hpp>

namespace fim::app {
namespace {

namespace po = boost::program_options;

po::options_description globalFlags() {
  po::options_description flags("Global flags");
  flags.add_options()
      ("help,h", "show this help")
      ("config,c", po::value<std::string>()->value_name("FILE"),
       "configuration file (default: fimbeat.yml in path.config)")
      (",e", po::bool_switch(), "log to stderr instead of files")
      (",d", po::value<std::vector<std::string>>()->composing()->value_name("SELECTORS"),
       "debug logging for these components, comma-separated; '*' for all")
      (",E", po::value<std::vector<std::string>>()->composing()->value_name("key=value"),
       "override a configuration setting (repeatable)")
      ("path.home", po::value<std::string>()->value_name("DIR"), "home directory (default: the binary's directory)")
      ("path.config", po::value<std::string>()->value_name("DIR"), "configuration directory (default: path.home)")
      ("path.data", po::value<std::string>()->value_name("DIR"), "data directory (default: <path.home>/data)")
      ("path.logs", po::value<std::string>()->value_name("DIR"), "logs directory (default: <path.home>/logs)")
      ("index-management", po::bool_switch(), "setup: install the ILM policy and the index template")
      ("environment", po::value<std::string>()->value_name("ENV"),
       "where fimbeat runs: default, systemd (log to stderr for the journal, without timestamps), "
       "container (log to stderr), macos_service, windows_service")
      ("force", po::bool_switch(), "keystore create/add: replace what exists; enroll: enroll again")
      ("stdin", po::bool_switch(), "keystore add: read the value from standard input")
      ("dashboards", po::bool_switch(), "setup: import the Kibana dashboards")
      ("id", po::value<std::string>()->value_name("ID"), "export dashboard: the dashboard's id")
      ("folder", po::value<std::string>()->value_name("DIR"), "export dashboard: write the objects to DIR/<type>/<id>.json")
      ("url", po::value<std::vector<std::string>>()->composing()->value_name("URL"), "enroll: the Fleet Server URL, https://host:8220 (repeatable)")
      ("enrollment-token", po::value<std::string>()->value_name("TOKEN"), "enroll: the enrollment token from Kibana's Fleet")
      ("tag", po::value<std::vector<std::string>>()->composing()->value_name("TAG"), "enroll: a tag for the agent (repeatable)")
      ("certificate-authorities", po::value<std::vector<std::string>>()->composing()->value_name("FILE"),
       "enroll: a PEM file of CAs that sign Fleet Server's certificate (repeatable)")
      ("insecure", po::bool_switch(), "enroll: do not verify Fleet Server's TLS certificate")
      ("proxy-url", po::value<std::string>()->value_name("URL"), "enroll: a proxy for Fleet Server")
      ("json", po::bool_switch(), "status: print the state as JSON")
      ("strict.perms", po::value<bool>()->default_value(true)->implicit_value(true)->value_name("BOOL"),
       "refuse a config file that others can write (default true)");
  return flags;
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
  std::string joined;
  for (const auto& w : words) joined += (joined.empty() ? "" : " ") + w;
  return core::fail(core::ErrorCode::InvalidArgument, "unknown command \"" + joined + "\"");
}

// enroll's and status's flags.
core::Status readFleetFlags(const po::variables_map& vm, CliOptions& options) {
  if (vm.count("url")) options.fleetUrls = vm["url"].as<std::vector<std::string>>();
  if (vm.count("enrollment-token")) options.enrollmentToken = vm["enrollment-token"].as<std::string>();
  if (vm.count("tag")) options.tags = vm["tag"].as<std::vector<std::string>>();
  if (vm.count("certificate-authorities")) {
    options.certificateAuthorities = vm["certificate-authorities"].as<std::vector<std::string>>();
  }
  options.insecure = vm["insecure"].as<bool>();
  if (vm.count("proxy-url")) options.proxyUrl = vm["proxy-url"].as<std::string>();
  options.json = vm["json"].as<bool>();
  const bool enrollFlags = vm.count("url") || vm.count("enrollment-token") || vm.count("tag") ||
                           vm.count("certificate-authorities") || options.insecure || vm.count("proxy-url");
  if (enrollFlags && options.command != Command::Enroll) {
    return core::fail(core::ErrorCode::InvalidArgument,
                      "--url, --enrollment-token, --tag, --certificate-authorities, --insecure and --proxy-url "
                      "only go with `fimbeat enroll`");
  }
  if (options.json && options.command != Command::Status) {
    return core::fail(core::ErrorCode::InvalidArgument, "--json only goes with `fimbeat status`");
  }
  return {};
}

// --force and --stdin go only with the keystore commands that take them.
core::Status keystoreFlags(const po::variables_map& vm, CliOptions& options) {
  options.force = vm["force"].as<bool>();
  options.fromStdin = vm["stdin"].as<bool>();
  const bool forceAllowed = options.command == Command::KeystoreCreate || options.command == Command::KeystoreAdd ||
                            options.command == Command::Enroll;
  if (options.force && !forceAllowed) {
    return core::fail(core::ErrorCode::InvalidArgument, "--force only goes with `fimbeat keystore create`, `keystore add` or `enroll`");
  }
  if (options.fromStdin && options.command != Command::KeystoreAdd) {
    return core::fail(core::ErrorCode::InvalidArgument, "--stdin only goes with `fimbeat keystore add KEY`");
  }
  return {};
}

// The flags that belong to one command: setup's and export dashboard's.
core::Status readCommandFlags(const po::variables_map& vm, CliOptions& options) {
  options.indexManagement = vm["index-management"].as<bool>();
  options.dashboards = vm["dashboards"].as<bool>();
  if ((options.indexManagement || options.dashboards) && options.command != Command::Setup) {
    return core::fail(core::ErrorCode::InvalidArgument, "--index-management and --dashboards only go with `fimbeat setup`");
  }
  if (vm.count("id")) options.dashboardId = vm["id"].as<std::string>();
  if (vm.count("folder")) options.folder = vm["folder"].as<std::string>();
  const bool exportDashboard = options.command == Command::ExportDashboard;
  if ((vm.count("id") || vm.count("folder")) && !exportDashboard) {
    return core::fail(core::ErrorCode::InvalidArgument, "--id and --folder only go with `fimbeat export dashboard`");
  }
  if (exportDashboard && options.dashboardId.empty()) {
    return core::fail(core::ErrorCode::InvalidArgument, "`fimbeat export dashboard` needs --id ID (the files under kibana/dashboard/ are named by id)");
  }
  return readFleetFlags(vm, options);
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
         "  fimbeat keystore create [--force]        create the keystore (<path.data>/fimbeat.keystore)\n"
         "  fimbeat keystore add KEY [--stdin] [--force]  add a secret for ${KEY} (prompted, or read from stdin)\n"
         "  fimbeat keystore list         list the keystore's keys\n"
         "  fimbeat keystore remove KEY   remove a key from the keystore\n"
         "  fimbeat version               print the version\n\n"
      << globalFlags();
  return out.str();
}

core::Result<CliOptions> parseCommandLine(int argc, const char* const* argv) {
  po::options_description all = globalFlags();
  all.add_options()("command", po::value<std::vector<std::string>>()->composing(), "");
  po::positional_options_description positional;
  positional.add("command", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return core::fail(core::ErrorCode::InvalidArgument, e.what());
  }
  CliOptions options;
  if (vm.count("help")) {
    options.command = Command::Help;
    return options;
  }
  auto command = commandOf(vm.count("command") ? vm["command"].as<std::vector<std::string>>() : std::vector<std::string>{},
                           options.keystoreKey);
  if (!command) return std::unexpected(command.error());
  options.command = *command;
  if (auto checked = keystoreFlags(vm, options); !checked) return std::unexpected(checked.error());
  if (vm.count("environment")) {
    auto environment = environmentOf(vm["environment"].as<std::string>());
    if (!environment) return std::unexpected(environment.error());
    options.environment = *environment;
  }
  if (vm.count("config")) options.load.configFile = vm["config"].as<std::string>();
  if (vm.count("-E")) options.load.overrides = vm["-E"].as<std::vector<std::string>>();
  if (vm.count("-d")) options.debugSelectors = splitSelectors(vm["-d"].as<std::vector<std::string>>());
  options.logToStderr = vm["-e"].as<bool>();
  if (auto status = readCommandFlags(vm, options); !status) return std::unexpected(status.error());
  options.load.strictPerms = vm["strict.perms"].as<bool>();
  if (vm.count("path.home")) options.load.pathHome = vm["path.home"].as<std::string>();
  if (vm.count("path.config")) options.load.pathConfig = vm["path.config"].as<std::string>();
  if (vm.count("path.data")) options.load.pathData = vm["path.data"].as<std::string>();
  if (vm.count("path.logs")) options.load.pathLogs = vm["path.logs"].as<std::string>();
  return options;
}

}  // namespace fim::app
