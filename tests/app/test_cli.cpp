#include <doctest/doctest.h>

#include <vector>

#include "app/cli.h"

using namespace fim::app;

namespace {
fim::core::Result<CliOptions> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "fimbeat");
  return parseCommandLine(static_cast<int>(args.size()), args.data());
}
}  // namespace

TEST_CASE("subcommands follow beats: run is the default") {
  CHECK(parse({})->command == Command::Run);
  CHECK(parse({"run"})->command == Command::Run);
  CHECK(parse({"test", "config"})->command == Command::TestConfig);
  CHECK(parse({"export", "config"})->command == Command::ExportConfig);
  CHECK(parse({"version"})->command == Command::Version);
  CHECK(parse({"--help"})->command == Command::Help);
  CHECK(parse({"-h"})->command == Command::Help);
}

TEST_CASE("global flags are read before or after the subcommand") {
  auto options = parse({"-c", "/etc/fimbeat/fimbeat.yml", "test", "config", "-e", "-d", "watcher,output", "-d", "config",
                        "-E", "output.file.path=/x", "-E", "tags=[a]", "--path.home", "/opt/fim", "--path.data",
                        "/var/lib/fim", "--path.logs", "/var/log/fim", "--path.config", "/etc/fim"});
  REQUIRE(options.has_value());
  CHECK(options->command == Command::TestConfig);
  CHECK(options->load.configFile == "/etc/fimbeat/fimbeat.yml");
  CHECK(options->logToStderr);
  CHECK(options->debugSelectors == std::vector<std::string>{"watcher", "output", "config"});
  CHECK(options->load.overrides == std::vector<std::string>{"output.file.path=/x", "tags=[a]"});
  CHECK(options->load.pathHome == "/opt/fim");
  CHECK(options->load.pathData == "/var/lib/fim");
  CHECK(options->load.pathLogs == "/var/log/fim");
  CHECK(options->load.pathConfig == "/etc/fim");
  CHECK(options->load.strictPerms);
}

TEST_CASE("defaults: no -e, no selectors, strict permissions on") {
  auto options = parse({"run"});
  REQUIRE(options.has_value());
  CHECK_FALSE(options->logToStderr);
  CHECK(options->debugSelectors.empty());
  CHECK(options->load.configFile.empty());
  CHECK_FALSE(options->load.pathHome.has_value());
  CHECK(options->load.strictPerms);
}

TEST_CASE("--strict.perms takes a boolean, -d '*' selects everything") {
  CHECK_FALSE(parse({"--strict.perms=false"})->load.strictPerms);
  CHECK(parse({"--strict.perms"})->load.strictPerms);
  CHECK(parse({"-d", "*"})->debugSelectors == std::vector<std::string>{"*"});
}

TEST_CASE("unknown subcommands and flags are errors") {
  auto command = parse({"frobnicate"});
  REQUIRE_FALSE(command.has_value());
  CHECK(command.error().message() == "unknown command \"frobnicate\"");
  CHECK_FALSE(parse({"test"}).has_value());
  CHECK_FALSE(parse({"test", "outputs"}).has_value());
  CHECK_FALSE(parse({"export", "config", "--index-management"}).has_value());  // a flag of `setup` only
  auto flag = parse({"--no-such-flag"});
  REQUIRE_FALSE(flag.has_value());
  CHECK(flag.error().message().find("no-such-flag") != std::string::npos);
  CHECK_FALSE(parse({"-c"}).has_value());  // a flag that needs a value
  CHECK_FALSE(parse({"--strict.perms=maybe"}).has_value());
}

TEST_CASE("the Elasticsearch subcommands") {
  CHECK((parse({"test", "output"})->command == Command::TestOutput));
  CHECK((parse({"export", "template"})->command == Command::ExportTemplate));
  CHECK((parse({"export", "ilm-policy"})->command == Command::ExportIlmPolicy));
  auto setup = parse({"setup", "--index-management"});
  REQUIRE(setup.has_value());
  CHECK((setup->command == Command::Setup));
  CHECK(setup->indexManagement);
}

TEST_CASE("usage lists the subcommands and the global flags") {
  const std::string text = usage();
  for (const char* part : {"test config", "export config", "version", "--config", "-E", "-d", "-e", "--path.home",
                           "--path.config", "--path.data", "--path.logs", "--strict.perms"}) {
    CAPTURE(part);
    CHECK(text.find(part) != std::string::npos);
  }
}

TEST_CASE("keystore commands: create, add KEY, list, remove KEY, with --force and --stdin where they fit") {
  CHECK(parse({"keystore", "create"})->command == Command::KeystoreCreate);
  CHECK(parse({"keystore", "create", "--force"})->force);
  auto add = parse({"keystore", "add", "ES_PWD", "--stdin", "--force", "--path.data", "/var/lib/fimbeat"});
  REQUIRE(add.has_value());
  CHECK(add->command == Command::KeystoreAdd);
  CHECK(add->keystoreKey == "ES_PWD");
  CHECK(add->fromStdin);
  CHECK(add->force);
  CHECK(add->load.pathData == "/var/lib/fimbeat");
  CHECK(parse({"keystore", "list"})->command == Command::KeystoreList);
  auto remove = parse({"keystore", "remove", "ES_PWD"});
  REQUIRE(remove.has_value());
  CHECK(remove->command == Command::KeystoreRemove);
  CHECK(remove->keystoreKey == "ES_PWD");
  CHECK_FALSE(parse({"keystore", "add"}).has_value());
  CHECK_FALSE(parse({"keystore", "list", "extra"}).has_value());
  CHECK_FALSE(parse({"keystore", "list", "--stdin"}).has_value());
  CHECK_FALSE(parse({"keystore", "remove", "K", "--force"}).has_value());
  CHECK_FALSE(parse({"run", "--force"}).has_value());
}

TEST_CASE("--environment takes Beats' values, in any case") {
  CHECK(parse({})->environment == "default");
  CHECK(parse({"--environment", "systemd"})->environment == "systemd");
  CHECK(parse({"run", "--environment", "container"})->environment == "container");
  CHECK(parse({"--environment", "macOS_service"})->environment == "macos_service");
  CHECK(parse({"--environment", "windows_service"})->environment == "windows_service");
  auto bad = parse({"--environment", "kubernetes"});
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message().find("'kubernetes' is not supported") != std::string::npos);
}

TEST_CASE("setup takes --index-management and --dashboards, export dashboard takes --id and --folder") {
  auto both = parse({"setup"});
  REQUIRE(both.has_value());
  CHECK((both->command == Command::Setup));
  CHECK_FALSE(both->indexManagement);
  CHECK_FALSE(both->dashboards);
  auto dashboards = parse({"setup", "--dashboards"});
  REQUIRE(dashboards.has_value());
  CHECK(dashboards->dashboards);
  CHECK_FALSE(dashboards->indexManagement);
  auto exported = parse({"export", "dashboard", "--id", "fimbeat-host-timeline", "--folder", "/tmp/out"});
  REQUIRE(exported.has_value());
  CHECK((exported->command == Command::ExportDashboard));
  CHECK(exported->dashboardId == "fimbeat-host-timeline");
  CHECK(exported->folder == "/tmp/out");
}

TEST_CASE("command flags outside their command, and export dashboard without --id, are errors") {
  CHECK(parse({"run", "--dashboards"}).error().message().find("only goes with `fimbeat setup`") != std::string::npos);
  CHECK(parse({"setup", "--id", "x"}).error().message().find("only goes with `fimbeat export dashboard`") != std::string::npos);
  CHECK(parse({"export", "dashboard"}).error().message().find("needs --id ID") != std::string::npos);
}

TEST_CASE("flags as Go's flag package and pflag read them: -name and --name are one flag") {
  auto options = parse({"-c", "/a.yml", "-path.home", "/h", "--path.data=/d", "-path.logs=/l", "-strict.perms=false", "--e",
                        "-v", "-E", "name=x", "--E=tags=[a]", "-d=watcher", "--d", "output"});
  REQUIRE(options.has_value());
  CHECK(options->load.configFile == "/a.yml");
  CHECK(options->load.pathHome == "/h");
  CHECK(options->load.pathData == "/d");
  CHECK(options->load.pathLogs == "/l");
  CHECK_FALSE(options->load.strictPerms);
  CHECK(options->logToStderr);
  CHECK(options->verbose);
  CHECK(options->load.overrides == std::vector<std::string>{"name=x", "tags=[a]"});
  CHECK(options->debugSelectors == std::vector<std::string>{"watcher", "output"});
  CHECK(parse({"--c", "/b.yml"})->load.configFile == "/b.yml");
  CHECK(parse({"-c=/b.yml"})->load.configFile == "/b.yml");
  CHECK_FALSE(parse({"-e=false"})->logToStderr);
  CHECK(parse({"-strict.perms=0"})->load.strictPerms == false);
  CHECK(parse({"-strict.perms=T"})->load.strictPerms == true);
}

TEST_CASE("no abbreviations: a flag name matches exactly or is unknown") {
  auto index = parse({"setup", "--index"});
  REQUIRE_FALSE(index.has_value());
  CHECK(index.error().message() == "unknown flag: --index");
  CHECK(parse({"setup", "-index"}).error().message() == "unknown flag: --index");
  CHECK(parse({"--path.hom", "/x"}).error().message() == "unknown flag: --path.hom");
  CHECK(parse({"-x"}).error().message() == "unknown flag: -x");
  CHECK(parse({"-ec", "x"}).error().message() == "unknown flag: --ec");  // shorthands do not combine in Beats either
}

TEST_CASE("a boolean flag does not take the next word as its value") {
  auto options = parse({"-e", "test", "config"});
  REQUIRE(options.has_value());
  CHECK(options->command == Command::TestConfig);
  CHECK(options->logToStderr);
  CHECK(parse({"--strict.perms", "false"}).error().message() == "unknown command \"false\"");
}

TEST_CASE("-- ends the flags, flags of other beats are refused with the reason") {
  CHECK(parse({"--", "version"})->command == Command::Version);
  CHECK_FALSE(parse({"--", "-e"}).has_value());  // a command word, not a flag
  auto once = parse({"--once"});
  REQUIRE_FALSE(once.has_value());
  CHECK(once.error().message().find("flag --once is not supported: fimbeat watches continuously") == 0);
  CHECK(parse({"-N"}).error().message().find("flag -N is not supported") == 0);
  CHECK(parse({"setup", "--pipelines"}).error().message().find("flag --pipelines is not supported") == 0);
}

TEST_CASE("one config file: -c twice is refused rather than half-read") {
  auto twice = parse({"-c", "a.yml", "-c", "b.yml"});
  REQUIRE_FALSE(twice.has_value());
  CHECK(twice.error().message().find("-c is given more than once") == 0);
}

TEST_CASE("Auditbeat's systemd ExecStart flags, without --environment") {
  auto options = parse({"-c", "/etc/fimbeat/fimbeat.yml", "--path.home", "/usr/share/fimbeat", "--path.config",
                        "/etc/fimbeat", "--path.data", "/var/lib/fimbeat", "--path.logs", "/var/log/fimbeat"});
  REQUIRE(options.has_value());
  CHECK(options->command == Command::Run);
  CHECK(options->load.pathConfig == "/etc/fimbeat");
}

TEST_CASE("approve: --paths, --for and --reason, or --list, or --revoke ID, its flags go with approve only") {
  auto approve = parse({"approve", "--paths", "/etc/nginx", "--paths=/var/www", "--for", "1h30m", "--reason", "CHG-1"});
  REQUIRE_MESSAGE(approve.has_value(), (approve ? "" : approve.error().message()));
  CHECK(approve->command == Command::Approve);
  CHECK(approve->approvePaths == std::vector<std::string>{"/etc/nginx", "/var/www"});
  CHECK(approve->approveFor == std::chrono::minutes(90));
  CHECK(approve->approveReason == "CHG-1");
  CHECK(parse({"approve", "--list"})->approveList);
  CHECK(parse({"approve", "--revoke", "7f3a9c1e"})->approveRevoke == "7f3a9c1e");
  CHECK_FALSE(parse({"approve"}).has_value());
  CHECK_FALSE(parse({"approve", "--list", "--revoke", "x"}).has_value());
  CHECK_FALSE(parse({"approve", "--paths", "/etc", "--for", "30m"}).has_value());  // no reason
  CHECK_FALSE(parse({"approve", "--paths", "/etc", "--reason", "x"}).has_value());  // no duration
  auto bad = parse({"approve", "--paths", "/etc", "--for", "-5m", "--reason", "x"});
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message().find("--for -5m") != std::string::npos);
  auto misplaced = parse({"run", "--list"});
  REQUIRE_FALSE(misplaced.has_value());
  CHECK(misplaced.error().message() == "--list only goes with `fimbeat approve`");
}
