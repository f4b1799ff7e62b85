#include "enricher/agent_id.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <doctest/doctest.h>
#include <simdjson.h>

#include "enricher/enricher.h"
#include "support/temp_dir.h"

namespace fim::enricher {
namespace {

using fim::testing::TempDir;

class FixedClock final : public core::Clock {
 public:
  core::TimePoint now() const override { return core::TimePoint(std::chrono::milliseconds(1700000000123)); }
};

std::string fileText(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

unsigned modeOf(const std::filesystem::path& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

TEST_CASE("UUID v4: form, version and variant, and different every time") {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto uuid = newUuidV4();
    REQUIRE(uuid);
    CHECK(isUuid(*uuid));
    CHECK((*uuid)[14] == '4');
    CHECK(std::string("89ab").find((*uuid)[19]) != std::string::npos);
    CHECK(*uuid == [&] { std::string lower = *uuid; for (auto& c : lower) c = static_cast<char>(std::tolower(c)); return lower; }());
    seen.insert(*uuid);
  }
  CHECK(seen.size() == 100);
  CHECK(isUuid("7E061F66-BF86-41E2-858D-D5CBE22E06B1"));
  CHECK_FALSE(isUuid("7e061f66bf8641e2858dd5cbe22e06b1"));
  CHECK_FALSE(isUuid("7e061f66-bf86-41e2-858d-d5cbe22e06bg"));
  CHECK_FALSE(isUuid(""));
}

TEST_CASE("agent id: created once in meta.json (0600), the same on every reopen") {
  TempDir data;
  const FixedClock clock;
  auto first = loadOrCreateAgentId(data.str(), clock);
  REQUIRE(first);
  CHECK(first->created);
  CHECK_FALSE(first->replacedCorrupt);
  CHECK(isUuid(first->id));
  const auto meta = data.path() / "meta.json";
  CHECK(modeOf(meta) == 0600);
  CHECK_FALSE(std::filesystem::exists(data.path() / "meta.json.tmp"));

  // Beats' format: {"uuid": ..., "first_start": ...}
  simdjson::dom::parser parser;
  const auto doc = parser.parse(fileText(meta));
  REQUIRE(doc.error() == simdjson::SUCCESS);
  CHECK(std::string(doc["uuid"].get_string().value()) == first->id);
  CHECK(std::string(doc["first_start"].get_string().value()) == "2023-11-14T22:13:20.123Z");

  for (int i = 0; i < 3; ++i) {
    auto again = loadOrCreateAgentId(data.str(), clock);
    REQUIRE(again);
    CHECK(again->id == first->id);
    CHECK_FALSE(again->created);
    CHECK_FALSE(again->replacedCorrupt);
  }
}

TEST_CASE("agent id: an Auditbeat meta.json is taken over as it is") {
  TempDir data;
  const std::string beats = R"({"uuid":"7e061f66-bf86-41e2-858d-d5cbe22e06b1","first_start":"2022-04-20T09:02:19.365123Z"})";
  data.write("meta.json", beats);
  auto identity = loadOrCreateAgentId(data.str(), FixedClock());
  REQUIRE(identity);
  CHECK(identity->id == "7e061f66-bf86-41e2-858d-d5cbe22e06b1");
  CHECK(fileText(data.path() / "meta.json") == beats);  // not rewritten
}

TEST_CASE("agent id: a corrupt meta.json is replaced by a new id, with the flag set") {
  const char* corrupt[] = {"", "not json", "{\"uuid\": 42}", "{\"uuid\":\"not-a-uuid\"}", "[\"7e061f66-bf86-41e2-858d-d5cbe22e06b1\"]",
                           "{\"uuid\":\"7e061f66-bf86-41e2-858d-d5cbe22e06b1\""};
  for (const char* text : corrupt) {
    CAPTURE(text);
    TempDir data;
    data.write("meta.json", text);
    ::chmod((data.path() / "meta.json").c_str(), 0644);
    auto identity = loadOrCreateAgentId(data.str(), FixedClock());
    REQUIRE(identity);
    CHECK(identity->replacedCorrupt);
    CHECK_FALSE(identity->created);
    CHECK(isUuid(identity->id));
    CHECK(modeOf(data.path() / "meta.json") == 0600);
    auto reread = loadOrCreateAgentId(data.str(), FixedClock());
    REQUIRE(reread);
    CHECK(reread->id == identity->id);
    CHECK_FALSE(reread->replacedCorrupt);
  }
}

TEST_CASE("agent id: a missing data directory is created, a symlinked meta.json is refused") {
  TempDir base;
  const auto data = base.path() / "a" / "b";
  auto identity = loadOrCreateAgentId(data.string(), FixedClock());
  REQUIRE(identity);
  CHECK(std::filesystem::is_regular_file(data / "meta.json"));

  TempDir other;
  std::filesystem::create_directories(other.path() / "data");
  const auto target = other.write("target.json", R"({"uuid":"7e061f66-bf86-41e2-858d-d5cbe22e06b1"})");
  std::filesystem::create_symlink(target, other.path() / "data" / "meta.json");
  auto refused = loadOrCreateAgentId((other.path() / "data").string(), FixedClock());
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message().find("symlink") != std::string::npos);
  CHECK(fileText(target) == R"({"uuid":"7e061f66-bf86-41e2-858d-d5cbe22e06b1"})");  // untouched
}

TEST_CASE("agent id: a data path that is a file is an error naming it") {
  TempDir base;
  const auto file = base.write("data", "x");
  auto identity = loadOrCreateAgentId(file, FixedClock());
  REQUIRE_FALSE(identity);
  CHECK(identity.error().message().find(file) != std::string::npos);
}

TEST_CASE("collectMetadata: stable agent.id, a new ephemeral id per run, name, type and version") {
  TempDir data;
  config::Config config;
  config.paths.data = data.str();
  config.hostMetadata.netinfo = false;
  auto first = collectMetadata(config, FixedClock(), "1.2.3");
  auto second = collectMetadata(config, FixedClock(), "1.2.3");
  REQUIRE(first);
  REQUIRE(second);
  CHECK(first->agent.id == second->agent.id);
  CHECK(isUuid(first->agent.ephemeralId));
  CHECK(first->agent.ephemeralId != second->agent.ephemeralId);
  CHECK(first->agent.ephemeralId != first->agent.id);
  CHECK(first->agent.type == "fimbeat");
  CHECK(first->agent.version == "1.2.3");
  CHECK(first->agent.name == first->host.hostname);  // no `name:` configured
  CHECK_FALSE(first->host.hostname.empty());
  CHECK(first->host.ip.empty());
  CHECK_FALSE(first->cloud.has_value());

  config.name = "web-frontend-7";
  auto named = collectMetadata(config, FixedClock(), "1.2.3");
  REQUIRE(named);
  CHECK(named->agent.name == "web-frontend-7");
  CHECK(named->host.hostname == first->host.hostname);  // the name is the agent's, not the host's
}

}  // namespace
}  // namespace fim::enricher
