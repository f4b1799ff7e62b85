// fimbeat unenroll / status, and `fimbeat run` when enrolled in Fleet (docs/fleet.md); enroll is in
// enroll_command.cpp.

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "app/commands.h"
#include "app/managed_agent.h"
#include "core/logging.h"
#include "core/time_format.h"
#include "enricher/enricher.h"
#include "management/fleet/fleet_client.h"
#include "management/keystore.h"
#include "management/fleet/fleet_state.h"
#include "management/fleet/fleet_transport.h"
#include "management/fleet/policy_translator.h"

#ifndef FIMBEAT_VERSION
#define FIMBEAT_VERSION "0.0.0"
#endif

namespace fim::app {
namespace {

namespace fleet = management::fleet;
using namespace std::chrono_literals;

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void printHuman(const fleet::FleetState& s) {
  const auto& e = s.enrollment;
  std::cout << "Fleet enrollment: " << fleet::toString(s.lifecycle) << "\n"
            << "  agent id:        " << e.agentId << "\n"
            << "  Fleet Server:    " << fmt::format("{}", fmt::join(e.hosts, ", ")) << "\n"
            << "  policy:          " << e.policyId << "\n"
            << "  enrolled at:     " << e.enrolledAt << "\n";
  if (!s.unenrollReason.empty()) std::cout << "  unenrolled by:   " << s.unenrollReason << "\n";
  std::cout << "Connectivity:      " << s.connectivity.state;
  if (!s.connectivity.lastCheckin.empty()) std::cout << " (last checkin " << s.connectivity.lastCheckin << ")";
  std::cout << "\n";
  if (!s.connectivity.lastError.empty()) std::cout << "  last error:      " << s.connectivity.lastError << "\n";
  if (s.good) {
    std::cout << "Running policy:    " << s.good->id << " revision " << s.good->revision << "\n";
  } else {
    std::cout << "Running policy:    none yet\n";
  }
  if (s.last && s.last->status == "rejected") {
    std::cout << "Rejected policy:   " << s.last->id << " revision " << s.last->revision << ": " << s.last->error << "\n";
  } else if (s.last && s.last->status == "applying") {
    std::cout << "Applying policy:   " << s.last->id << " revision " << s.last->revision << " (attempt "
              << s.last->attempts << ")\n";
  }
  std::cout << "Pending acks:      " << s.outbox.size() << "\n"
            << "Pending actions:   " << s.inbox.size() << "\n";
  if (!s.logLevel.empty()) std::cout << "Log level (Fleet): " << s.logLevel << "\n";
}

}  // namespace

core::Result<config::Loaded> loadConfigWithoutModules(const CliOptions& options) {
  CliOptions relaxed = options;
  relaxed.load.requireModules = false;
  return loadConfig(relaxed);
}

bool enrolledInFleet(const std::string& dataDir) {
  std::error_code ec;
  return std::filesystem::exists(fleet::stateDirectory(dataDir) + "/state.json", ec);
}

int fleetStatus(const CliOptions& options) {
  auto loaded = loadConfigWithoutModules(options);
  if (!loaded) {
    std::cerr << "Config is not valid:\n" << loaded.error().message() << "\n";
    return 1;
  }
  auto state = fleet::loadState(loaded->config.paths.data);
  if (!state) {
    std::cerr << state.error().message() << "\n";
    return 1;
  }
  if (!*state) {
    if (options.json) {
      std::cout << "{\"version\":1,\"lifecycle\":\"standalone\"}\n";
    } else {
      std::cout << "Fleet enrollment: standalone (not enrolled; `fimbeat enroll --url URL --enrollment-token TOKEN`)\n";
    }
    return 0;
  }
  if (options.json) {
    std::cout << fleet::stateJson(**state, false) << "\n";
  } else {
    printHuman(**state);
  }
  return 0;
}

int unenroll(const CliOptions& options) {
  auto loaded = loadConfigWithoutModules(options);
  if (!loaded) {
    std::cerr << "Config is not valid:\n" << loaded.error().message() << "\n";
    return 1;
  }
  const std::string dataDir = loaded->config.paths.data;
  fleet::StateLock lock(dataDir);
  if (!lock.held()) {
    std::cerr << "fimbeat is running with " << dataDir << ": stop it first\n";
    return 1;
  }
  auto state = fleet::loadState(dataDir);
  if (!state || !*state || (*state)->lifecycle != fleet::Lifecycle::Enrolled) {
    std::cerr << "fimbeat is not enrolled in Fleet\n";
    return 1;
  }
  auto& s = **state;
  fleet::FleetTransport transport(s.enrollment, loaded->config.fleet.agentVersion.empty() ? fleet::kDefaultAgentVersion
                                                                                         : loaded->config.fleet.agentVersion);
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("reason");
  w.String("uninstall");
  w.Key("timestamp");
  w.String(core::formatTimestamp(std::chrono::system_clock::now()).c_str());
  w.EndObject();
  auto response = transport.send("POST", "/api/fleet/agents/" + s.enrollment.agentId + "/audit/unenroll",
                                 buffer.GetString(), s.enrollment.accessApiKey, 30s);
  if (response && response->status == 200) {
    std::cout << "Fleet Server recorded the agent as uninstalled.\n";
  } else {
    std::cerr << "Fleet Server was not told (" << (response ? fmt::format("HTTP {}", response->status) : response.error().message())
              << "); unenroll the agent in Kibana too\n";
  }
  s.lifecycle = fleet::Lifecycle::Unenrolled;
  s.unenrollReason = "fimbeat unenroll";
  s.enrollment.accessApiKey.clear();
  s.inbox.clear();
  if (auto saved = fleet::saveState(dataDir, s); !saved) {
    std::cerr << saved.error().message() << "\n";
    return 1;
  }
  std::cout << "fimbeat is unenrolled; the event queue and the baseline stay in " << dataDir
            << ". `fimbeat enroll --force ...` enrolls it again.\n";
  return 0;
}

std::optional<int> runManagedIfEnrolled(const CliOptions& options, const config::Config& config,
                                        const sigset_t& signals,
                                        const std::function<void(const std::string&)>& setLogLevel) {
  auto stored = fleet::loadState(config.paths.data);
  if (stored && !*stored) return std::nullopt;  // standalone
  auto& log = core::logger("fleet");
  if (!stored) {
    log.critical("{}", stored.error().message());
    std::cerr << stored.error().message() << "\n";
    return 1;
  }
  auto state = std::move(**stored);
  if (state.lifecycle == fleet::Lifecycle::Enrolling) {
    std::cerr << "the enrollment in Fleet did not finish: run `fimbeat enroll` again (it reuses the same agent id)\n";
    return 1;
  }
  if (state.lifecycle == fleet::Lifecycle::Unenrolled) {
    std::cerr << "fimbeat was unenrolled from Fleet (" << state.unenrollReason
              << "); nothing to run: `fimbeat enroll --force ...` enrolls it again\n";
    return 1;
  }
  fleet::StateLock lock(config.paths.data);
  if (!lock.held()) {
    std::cerr << "another fimbeat process uses " << config.paths.data << "\n";
    return 1;
  }
  const std::string localYaml = readFile(config.configFile);
  for (const auto& section : fleet::ignoredLocalSections(localYaml)) {
    log.warn("managed by Fleet: the local section \"{}\" is ignored; the Fleet policy defines modules and output", section);
  }
  core::Metrics metrics;
  core::Health health;
  core::SystemClock clock;
  // The monitoring endpoint and the metrics lines (http.*, logging.metrics.* of the local file), as
  // when standalone; what the policy runs is counted in the same metrics.
  auto metadata = enricher::collectMetadata(config, clock, FIMBEAT_VERSION);
  if (!metadata) {
    log.critical("cannot start: {}", metadata.error().message());
    std::cerr << "cannot start: " << metadata.error().message() << "\n";
    return 1;
  }
  config::Config shown = config;  // the policy, not the local file, brings modules and output
  shown.output.kind = config::OutputKind::Elasticsearch;
  shown.modules.clear();
  auto monitoring = startMonitoring(shown, *metadata, metrics, health, true);
  if (!monitoring) {
    log.critical("cannot start: {}", monitoring.error().message());
    std::cerr << "cannot start: " << monitoring.error().message() << "\n";
    return 1;
  }
  config::LoadOptions load = options.load;
  if (load.defaultHome.empty()) load.defaultHome = binaryDirectory();
  load.configFile = config.configFile;
  load.keystore = management::keystoreLookup;  // ${KEY} in the local file, as loadConfig resolves it
  ManagedAgent managed(localYaml, load, state.enrollment.agentId, config.fleet.applyTimeout, metrics, health, clock,
                       setLogLevel);
  if (!state.logLevel.empty()) setLogLevel(state.logLevel);
  if (state.good && state.unenrollReason.empty()) {
    // Offline start: the last-good policy runs before the first checkin (design §7.2).
    if (auto started = managed.resume(state.good->json); !started) {
      log.error("the last-good policy {} rev {} does not start: {}", state.good->id, state.good->revision,
                started.error().message());
    } else {
      log.info("running the last-good policy {} rev {} from disk", state.good->id, state.good->revision);
    }
  }
  fleet::FleetClient client(config.paths.data, config.fleet, FIMBEAT_VERSION, std::move(state), managed, health);
  std::jthread checkins([&client](std::stop_token stop) {
    try {
      client.run(stop);
    } catch (const std::exception& e) {
      core::logger("fleet").critical("the Fleet client stopped: {}", e.what());
    }
  });
  const timespec tick{0, 200'000'000};
  int sig = 0;
  while (!managed.failed()) {
    sig = ::sigtimedwait(&signals, nullptr, &tick);
    if (sig > 0) break;
  }
  log.info("stopping ({})", sig > 0 ? strsignal(sig) : "a stage failed");
  checkins.request_stop();
  checkins.join();
  const bool clean = managed.stop(3500ms);
  (*monitoring)->stop();  // "Total metrics", once every stage has stopped
  core::logger("agent").info("fimbeat stopped");
  if (managed.stuck()) {
    core::shutdownLogging();
    std::_Exit(1);
  }
  return clean ? 0 : 1;
}

}  // namespace fim::app
