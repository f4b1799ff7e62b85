// Tests for the logging facade: JSON lines in rotated files, levels and debug selectors.

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "core/logging.h"

namespace fs = std::filesystem;
using fim::core::initLogging;
using fim::core::LogOptions;
using fim::core::logger;
using fim::core::shutdownLogging;

namespace {

// Self-cleaning temporary directory.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "fim-logging-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

LogOptions fileOptions(const fs::path& dir) {
  LogOptions options;
  options.logsDir = dir.string();
  return options;
}

std::vector<std::string> readLines(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

unsigned modeOf(const fs::path& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// Which components' debug lines reached the file, comma-separated in file order.
std::string debugLoggers(const fs::path& file) {
  std::string names;
  for (const auto& line : readLines(file)) {
    rapidjson::Document doc;
    doc.Parse(line.c_str(), line.size());
    REQUIRE_FALSE(doc.HasParseError());
    if (std::string(doc["log.level"].GetString()) != "debug") continue;
    if (!names.empty()) names += ',';
    names += doc["log.logger"].GetString();
  }
  return names;
}

}  // namespace

TEST_CASE("a message with quotes, a newline and an invalid byte is one valid JSON line") {
  TempDir tmp;
  const fs::path logs = tmp.path() / "nested" / "logs";
  LogOptions options = fileOptions(logs);
  const mode_t mask = ::umask(0);
  ::umask(mask);
  REQUIRE(initLogging(options));
  CHECK(fs::is_directory(logs));
  CHECK(modeOf(logs) == (0750u & ~mask));

  logger("config").info("say \"{}\"\nnext \xff end", "hi");
  shutdownLogging();

  const fs::path file = logs / "fimbeat.ndjson";
  CHECK(modeOf(file) == 0600u);
  const auto lines = readLines(file);
  REQUIRE(lines.size() == 1);
  rapidjson::Document doc;
  doc.Parse(lines[0].c_str(), lines[0].size());
  REQUIRE_FALSE(doc.HasParseError());
  REQUIRE(doc.IsObject());
  CHECK(doc.MemberCount() == 4);
  REQUIRE(doc.HasMember("@timestamp"));
  const std::string timestamp = doc["@timestamp"].GetString();
  CHECK(std::regex_match(timestamp, std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)")));
  CHECK(std::string(doc["log.level"].GetString()) == "info");
  CHECK(std::string(doc["log.logger"].GetString()) == "config");
  CHECK(std::string(doc["message"].GetString()) == "say \"hi\"\nnext \xEF\xBF\xBD end");
}

TEST_CASE("level filters, and \"warning\" is accepted") {
  TempDir tmp;
  LogOptions options = fileOptions(tmp.path());
  options.level = "warning";
  REQUIRE(initLogging(options));
  auto& agent = logger("agent");
  CHECK_FALSE(agent.should_log(spdlog::level::info));
  agent.info("dropped");
  agent.warn("kept");
  shutdownLogging();
  const auto lines = readLines(tmp.path() / "fimbeat.ndjson");
  REQUIRE(lines.size() == 1);
  rapidjson::Document doc;
  doc.Parse(lines[0].c_str(), lines[0].size());
  REQUIRE_FALSE(doc.HasParseError());
  CHECK(std::string(doc["log.level"].GetString()) == "warn");
  CHECK(std::string(doc["message"].GetString()) == "kept");

  options.level = "verbose";
  const auto bad = initLogging(options);
  REQUIRE_FALSE(bad);
  // Compared as text: doctest finds fim::events::toString(ErrorCode) by ADL and cannot stringify the enum.
  CHECK(std::string(toString(bad.error().code())) == "invalid_argument");
}

TEST_CASE("debug selectors enable debug for the selected components only") {
  TempDir tmp;
  auto& early = logger("watcher");  // created before initLogging: reconfigured too
  LogOptions options = fileOptions(tmp.path());
  options.debugSelectors = {"watcher"};
  REQUIRE(initLogging(options));
  auto& other = logger("output");
  CHECK(early.should_log(spdlog::level::debug));
  CHECK_FALSE(other.should_log(spdlog::level::debug));
  early.debug("watcher debug");
  other.debug("output debug");
  shutdownLogging();
  CHECK(debugLoggers(tmp.path() / "fimbeat.ndjson") == "watcher");

  TempDir all;
  options = fileOptions(all.path());
  options.debugSelectors = {"*"};
  REQUIRE(initLogging(options));
  CHECK(early.should_log(spdlog::level::debug));
  CHECK(other.should_log(spdlog::level::debug));
  CHECK(logger("brand-new").should_log(spdlog::level::debug));
  early.debug("watcher debug");
  other.debug("output debug");
  shutdownLogging();
  CHECK(debugLoggers(all.path() / "fimbeat.ndjson") == "watcher,output");

  options.debugSelectors.clear();  // back to plain info
  REQUIRE(initLogging(options));
  CHECK_FALSE(early.should_log(spdlog::level::debug));
  shutdownLogging();
}

TEST_CASE("rotation keeps the file name scheme and the permissions") {
  TempDir tmp;
  LogOptions options = fileOptions(tmp.path());
  options.rotateEveryBytes = 300;
  options.keepFiles = 2;
  options.permissions = 0640;
  REQUIRE(initLogging(options));
  for (int i = 0; i < 20; ++i) logger("agent").info("line number {} with some padding to fill the file", i);
  shutdownLogging();
  CHECK(fs::exists(tmp.path() / "fimbeat.ndjson"));
  CHECK(fs::exists(tmp.path() / "fimbeat.1.ndjson"));
  CHECK(fs::exists(tmp.path() / "fimbeat.2.ndjson"));
  CHECK_FALSE(fs::exists(tmp.path() / "fimbeat.3.ndjson"));
  CHECK(modeOf(tmp.path() / "fimbeat.ndjson") == 0640u);
  CHECK(modeOf(tmp.path() / "fimbeat.1.ndjson") == 0640u);
}

TEST_CASE("an uncreatable logs directory is an error naming it") {
  TempDir tmp;
  const fs::path blocker = tmp.path() / "a-file";
  std::ofstream(blocker) << "not a directory";
  const std::string dir = (blocker / "logs").string();
  const auto status = initLogging(fileOptions(dir));
  REQUIRE_FALSE(status);
  CHECK(status.error().message().find(dir) != std::string::npos);

  LogOptions noDir;
  noDir.logsDir.clear();
  CHECK_FALSE(initLogging(noDir));
}

TEST_CASE("logWithObject puts a JSON object in the line, not an escaped string") {
  TempDir tmp;
  REQUIRE(initLogging(fileOptions(tmp.path())));
  fim::core::logWithObject(logger("monitoring"), spdlog::level::info, "Non-zero metrics in the last 30s", "monitoring",
                           R"({"metrics":{"libbeat":{"output":{"events":{"acked":3}}}}})");
  logger("monitoring").info("a plain line after it");
  shutdownLogging();
  const auto lines = readLines(tmp.path() / "fimbeat.ndjson");
  REQUIRE(lines.size() == 2);
  rapidjson::Document doc;
  doc.Parse(lines[0].c_str(), lines[0].size());
  REQUIRE_FALSE(doc.HasParseError());
  CHECK(std::string(doc["message"].GetString()) == "Non-zero metrics in the last 30s");
  REQUIRE(doc["monitoring"].IsObject());
  CHECK(doc["monitoring"]["metrics"]["libbeat"]["output"]["events"]["acked"].GetInt() == 3);
  rapidjson::Document plain;
  plain.Parse(lines[1].c_str(), lines[1].size());
  REQUIRE_FALSE(plain.HasParseError());
  CHECK_FALSE(plain.HasMember("monitoring"));
}

TEST_CASE("without timestamps (systemd's journal stamps lines) stderr lines have no @timestamp") {
  TempDir tmp;
  const fs::path captured = tmp.path() / "stderr";
  const int saved = ::dup(2);
  REQUIRE(saved >= 0);
  std::FILE* file = std::fopen(captured.c_str(), "w");
  REQUIRE(file != nullptr);
  ::dup2(::fileno(file), 2);
  LogOptions options;
  options.toStderr = true;
  options.timestamps = false;
  REQUIRE(initLogging(options));
  logger("agent").info("under systemd");
  shutdownLogging();
  ::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  std::fclose(file);
  const auto lines = readLines(captured);
  REQUIRE(lines.size() == 1);
  rapidjson::Document doc;
  doc.Parse(lines[0].c_str(), lines[0].size());
  REQUIRE_FALSE(doc.HasParseError());
  CHECK_FALSE(doc.HasMember("@timestamp"));
  CHECK(std::string(doc["message"].GetString()) == "under systemd");
}
