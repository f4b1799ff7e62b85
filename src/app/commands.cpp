#include "app/commands.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "app/agent.h"
#include "core/logging.h"

#ifndef FIMBEAT_VERSION
#define FIMBEAT_VERSION "0.0.0"
#endif

namespace fim::app {
namespace {

using namespace std::chrono_literals;

constexpr auto kShutdownGrace = 3500ms;  // plus the stuck-stage wait, SIGTERM to exit stays under 5 s

core::Result<config::Loaded> loadConfig(const CliOptions& options) {
  config::LoadOptions load = options.load;
  if (load.defaultHome.empty()) load.defaultHome = binaryDirectory();
  return config::load(load);
}

core::LogOptions logOptions(const CliOptions& options, const config::Config& config) {
  core::LogOptions log;
  log.toStderr = options.logToStderr || config.logging.toStderr;
  log.toFiles = config.logging.toFiles;
  log.logsDir = config.logging.filesPath;
  log.fileName = config.logging.filesName;
  log.rotateEveryBytes = config.logging.rotateEveryBytes;
  log.keepFiles = config.logging.keepFiles;
  log.permissions = config.logging.permissions;
  log.level = config.logging.level;
  log.debugSelectors = config.logging.selectors;
  log.debugSelectors.insert(log.debugSelectors.end(), options.debugSelectors.begin(), options.debugSelectors.end());
  return log;
}

// Waits for SIGINT/SIGTERM (blocked in every thread, taken here) or for the agent to fail.
int waitForSignal(const Agent& agent, const sigset_t& signals) {
  const timespec tick{0, 200'000'000};
  while (!agent.failed()) {
    const int sig = ::sigtimedwait(&signals, nullptr, &tick);
    if (sig > 0) return sig;
  }
  return 0;
}

}  // namespace

std::string binaryDirectory() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::current_path().string() : exe.parent_path().string();
}

int printVersion() {
  std::cout << "fimbeat version " << FIMBEAT_VERSION << " (file_integrity, ECS events for Elasticsearch)\n";
  return 0;
}

int testConfig(const CliOptions& options) {
  auto loaded = loadConfig(options);
  if (!loaded) {
    std::cerr << "Config is not valid:\n" << loaded.error().message() << "\n";
    return 1;
  }
  for (const auto& w : loaded->warnings) std::cerr << "WARNING " << w.describe() << "\n";
  std::cout << "Config OK\n";
  return 0;
}

int exportConfig(const CliOptions& options) {
  auto loaded = loadConfig(options);
  if (!loaded) {
    std::cerr << "Config is not valid:\n" << loaded.error().message() << "\n";
    return 1;
  }
  std::cout << config::exportYaml(loaded->config);
  return 0;
}

int runAgent(const CliOptions& options) {
  // Block the stop signals before any thread starts so that every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto loaded = loadConfig(options);
  if (!loaded) {
    std::cerr << "Config is not valid:\n" << loaded.error().message() << "\n";
    return 1;
  }
  const config::Config& config = loaded->config;
  if (auto logging = core::initLogging(logOptions(options, config)); !logging) {
    std::cerr << "cannot set up logging: " << logging.error().message() << "\n";
    return 1;
  }
  auto& log = core::logger("agent");
  for (const auto& w : loaded->warnings) core::logger("config").warn("{}", w.describe());
  log.info("fimbeat {} starting with config {} (path.data {})", FIMBEAT_VERSION, config.configFile, config.paths.data);

  core::Metrics metrics;
  core::SystemClock clock;
  auto agent = Agent::create(config, metrics, clock);
  if (!agent) {
    log.critical("cannot start: {}", agent.error().message());
    std::cerr << "cannot start: " << agent.error().message() << "\n";
    core::shutdownLogging();
    return 1;
  }
  (*agent)->start();
  const int sig = waitForSignal(**agent, signals);
  log.info("stopping ({})", sig > 0 ? strsignal(sig) : "a stage failed");
  const bool clean = (*agent)->stop(kShutdownGrace);
  log.info("fimbeat stopped; metrics: {}", metrics.toJson());
  if ((*agent)->stuck()) {
    core::shutdownLogging();
    std::_Exit(1);  // a stuck thread cannot be joined; leave without running destructors
  }
  core::shutdownLogging();
  return (clean && !(*agent)->failed()) ? 0 : 1;
}

}  // namespace fim::app
