#include "app/commands.h"

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>


#include "app/agent.h"
#include "baseline/rebuild.h"
#include "config/index_format.h"
#include "core/logging.h"
#include "management/keystore.h"
#include "management/monitoring.h"
#include "mapper/processors/processor_chain.h"
#include "mapper/schema.h"
#include "mapper/template_generator.h"
#include "output/elasticsearch/http_client.h"
#include "output/elasticsearch/es_connection.h"
#include "output/elasticsearch/probe.h"

#ifndef FIMBEAT_VERSION
#define FIMBEAT_VERSION "0.0.0"
#endif

namespace fim::app {
namespace {

using namespace std::chrono_literals;

constexpr auto kShutdownGrace = 3500ms;  // plus the stuck-stage wait, SIGTERM to exit stays under 5 s

}  // namespace

core::Result<config::Loaded> loadConfig(const CliOptions& options) {
  config::LoadOptions load = options.load;
  if (load.defaultHome.empty()) load.defaultHome = binaryDirectory();
  load.keystore = management::keystoreLookup;
  return config::load(load);
}

namespace {

// A scan holds a directory's descriptor while subdirectories of it wait to be read, up to one per
// level of a deep tree (docs/baseline.md): the soft limit on descriptors becomes the hard one.
void raiseDescriptorLimit() {
  rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  const auto soft = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    core::logger("agent").warn("cannot raise the open file limit from {}: {}", soft, std::strerror(errno));
  }
}

core::LogOptions logOptions(const CliOptions& options, const config::Config& config) {
  core::LogOptions log;
  // As Beats: under systemd or in a container, stderr unless the config asks for files.
  const bool stderrEnvironment = options.environment == "systemd" || options.environment == "container";
  log.toStderr = options.logToStderr || config.logging.toStderr ||
                 (stderrEnvironment && config.tree.find("logging.to_files") == nullptr);
  log.timestamps = options.environment != "systemd";
  log.toFiles = config.logging.toFiles && !options.logToStderr;  // Beats' -e: "log to stderr and disable file output"
  log.logsDir = config.logging.filesPath;
  log.fileName = config.logging.filesName;
  log.rotateEveryBytes = config.logging.rotateEveryBytes;
  log.keepFiles = config.logging.keepFiles;
  log.permissions = config.logging.permissions;
  log.level = config.logging.level;
  if (options.verbose && log.level != "debug") log.level = "info";  // Beats' -v: at least info
  log.debugSelectors = config.logging.selectors;
  log.debugSelectors.insert(log.debugSelectors.end(), options.debugSelectors.begin(), options.debugSelectors.end());
  return log;
}

constexpr int kMaxRebuilds = 3;  // of a database damaged while running, in one run

// Waits for SIGINT, SIGTERM or SIGHUP (blocked in every thread, taken here), for the agent to
// fail or for its database to need a rebuild.
int waitForSignal(const Agent& agent, const sigset_t& signals) {
  const timespec tick{0, 200'000'000};
  while (!agent.failed() && !agent.rebuildNeeded()) {
    const int sig = ::sigtimedwait(&signals, nullptr, &tick);
    if (sig > 0) return sig;
  }
  return 0;
}

// Loads the config for a command that talks to Elasticsearch; 0 on success, else the exit code.
int loadElasticsearchConfig(const CliOptions& options, std::optional<config::Loaded>& out) {
  auto loaded = loadConfig(options);
  if (!loaded) {
    std::cerr << "Config is not valid:\n" << loaded.error().message() << "\n";
    return 1;
  }
  if (loaded->config.output.kind != config::OutputKind::Elasticsearch) {
    std::cerr << "this command needs output.elasticsearch; the configured output is not Elasticsearch\n";
    return 1;
  }
  out = std::move(*loaded);
  return 0;
}

}  // namespace

core::Result<std::unique_ptr<management::Monitoring>> startMonitoring(const config::Config& config,
                                                                     const events::Metadata& metadata,
                                                                     const core::Metrics& metrics,
                                                                     const core::Health& health, bool managed) {
  management::BeatInfo info = management::beatInfoOf(config);
  info.managed = managed;
  info.name = metadata.agent.name;
  info.hostname = metadata.host.hostname;
  info.uuid = metadata.agent.id;
  info.ephemeralId = metadata.agent.ephemeralId;
  info.version = FIMBEAT_VERSION;
  return management::Monitoring::start(config, std::move(info), metrics, health);
}

std::string writeTarget(const config::Config& config) {
  const std::string& index = config.output.elasticsearch.index;
  if (index.empty()) return config.dataStream.name();
  auto format = config::IndexFormat::parse(index);  // Beats' %{...}: today's index, for checks and messages
  if (!format) return index;
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return format->expand({{"name", config.name.empty() ? std::string(host) : config.name}, {"version", FIMBEAT_VERSION},
                         {"type", "fimbeat"}},
                        std::chrono::system_clock::now());
}

events::DeliverySettings deliverySettings(const config::Config& config) {
  // A Beats format string is expanded per event (mapper::IndexSelector): no fixed target to keep,
  // and none that changes with the date each start.
  const bool perEvent = config.output.elasticsearch.index.find("%{") != std::string::npos;
  return {perEvent ? std::string() : writeTarget(config), config.dataStream.type, config.dataStream.dataset,
          config.dataStream.ns};
}

std::string indexTemplateName(const config::Config& config) {
  return config.dataStream.type + "-" + config.dataStream.dataset;
}

std::string indexTemplateBody(const config::Config& config) {
  mapper::TemplateOptions options;
  options.indexPattern = config.dataStream.type + "-" + config.dataStream.dataset + "-*";
  options.ilmPolicy = config.setup.ilmEnabled ? config.setup.ilmPolicyName : std::string();
  options.version = FIMBEAT_VERSION;
  return mapper::indexTemplateJson(mapper::builtinSchema(), options);
}

std::string ilmPolicyBody() { return mapper::ilmPolicyJson(); }

std::optional<output::es::IndexSetup> indexSetup(const config::Config& config) {
  if (!config.setup.templateEnabled && !config.setup.ilmEnabled) return std::nullopt;
  output::es::IndexSetup setup;
  setup.templateEnabled = config.setup.templateEnabled;
  setup.overwrite = config.setup.templateOverwrite;
  setup.ilmEnabled = config.setup.ilmEnabled;
  setup.templateName = indexTemplateName(config);
  setup.templateBody = indexTemplateBody(config);
  setup.policyName = config.setup.ilmPolicyName;
  setup.policyBody = ilmPolicyBody();
  return setup;
}

int testOutput(const CliOptions& options) {
  std::optional<config::Loaded> loaded;
  if (int rc = loadElasticsearchConfig(options, loaded); rc != 0) return rc;
  const auto& config = loaded->config;
  const bool setup = config.setup.templateEnabled || config.setup.ilmEnabled;
  return output::es::probeOutput(config.output.elasticsearch, writeTarget(config), setup, std::cout) ? 0 : 1;
}

int exportTemplate(const CliOptions& options) {
  auto loaded = loadConfig(options);
  if (!loaded) {
    std::cerr << "Config is not valid:\n" << loaded.error().message() << "\n";
    return 1;
  }
  std::cout << indexTemplateBody(loaded->config) << "\n";
  return 0;
}

int exportIlmPolicy(const CliOptions&) {
  std::cout << ilmPolicyBody() << "\n";
  return 0;
}

int setupIndexManagement(const config::Config& loaded) {
  if (loaded.output.kind != config::OutputKind::Elasticsearch) {
    std::cerr << "Index setup needs output.elasticsearch; the configured output is not Elasticsearch\n";
    return 1;
  }
  auto config = loaded;
  config.setup.templateEnabled = true;  // explicit request: as beats, setup runs even when disabled for runs
  auto setup = indexSetup(config);
  const auto& es = config.output.elasticsearch;
  std::string lastError;
  for (const auto& host : es.hosts) {
    auto url = output::es::parseHostUrl(host, es.protocol, es.path);
    if (!url) continue;
    output::es::HttpClient client(*url, es);
    auto root = client.send({"GET", "/"});
    auto info = root ? output::es::readHandshake(*root, url->base()) : core::Result<output::es::ServerInfo>(std::unexpected(root.error()));
    if (!info) {
      lastError = info.error().message();
      continue;
    }
    auto steps = output::es::installIndexManagement(client, *setup);
    if (!steps) {
      std::cerr << "Index setup failed: " << steps.error().message() << "\n";
      return 1;
    }
    for (const auto& step : *steps) std::cout << step << "\n";
    std::cout << "Index setup finished.\n";
    return 0;
  }
  std::cerr << "Index setup failed: no Elasticsearch host answered: " << lastError << "\n";
  return 1;
}

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
  // The processors are compiled too: a dissect tokenizer or a script that does not load is found
  // here, not only when the agent starts.
  core::Metrics metrics;
  if (auto chain = mapper::processors::ProcessorChain::build(loaded->config, metrics); !chain) {
    std::cerr << "Config is not valid:\n" << chain.error().message() << "\n";
    return 1;
  }
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
  // SIGHUP stops gracefully too, as in Beats (a closed terminal must not lose the final flush).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Enrolled in Fleet: the policy brings the modules and the output (fleet_commands.cpp).
  {
    CliOptions relaxed = options;
    relaxed.load.requireModules = false;
    auto local = loadConfig(relaxed);
    if (local && enrolledInFleet(local->config.paths.data)) {
      auto log = logOptions(options, local->config);
      if (auto logging = core::initLogging(log); !logging) {
        std::cerr << "cannot set up logging: " << logging.error().message() << "\n";
        return 1;
      }
      const auto setLevel = [log](const std::string& level) mutable {
        auto changed = log;
        if (!level.empty()) changed.level = level == "trace" ? "debug" : level;
        (void)core::initLogging(changed);
      };
      if (auto managed = runManagedIfEnrolled(options, local->config, signals, setLevel)) {
        core::shutdownLogging();
        return *managed;
      }
    }
  }
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
  if (config.setup.dashboards.enabled && !loadDashboardsAtStart(config, signals)) {
    core::shutdownLogging();
    return 1;
  }

  raiseDescriptorLimit();
  core::Metrics metrics;
  core::Health health;
  core::SystemClock clock;
  auto agent = Agent::create(config, metrics, health, clock);
  if (!agent) {
    log.critical("cannot start: {}", agent.error().message());
    std::cerr << "cannot start: " << agent.error().message() << "\n";
    core::shutdownLogging();
    return 1;
  }
  auto monitoring = startMonitoring(config, *(*agent)->metadata(), metrics, health);
  if (!monitoring) {
    log.critical("cannot start: {}", monitoring.error().message());
    std::cerr << "cannot start: " << monitoring.error().message() << "\n";
    core::shutdownLogging();
    return 1;
  }
  (*agent)->start();
  int sig = waitForSignal(**agent, signals);
  int rebuilds = 0;
  while (sig == 0 && (*agent)->rebuildNeeded()) {
    if (++rebuilds > kMaxRebuilds) {  // the disk keeps damaging what is written: a person must look
      log.critical("the database was damaged again after {} rebuilds: {}; stopping (check the disk under path.data)",
                   kMaxRebuilds, (*agent)->damage());
      break;
    }
    // A damaged database is never run with its blind spot: the stages stop, it is moved aside and
    // rebuilt from what is readable, and the stages start again on the new one.
    const std::string damage = (*agent)->damage();
    log.error("stopping the stages to rebuild the damaged database");
    (void)(*agent)->stop(kShutdownGrace);  // what cannot be written now is reported by the rebuild's scan
    if ((*agent)->stuck()) {
      core::shutdownLogging();
      std::_Exit(1);
    }
    agent->reset();
    auto rebuilt = baseline::rebuildDatabase(Agent::databasePath(config), damage);
    if (rebuilt) {
      baseline::reportRebuilt(*rebuilt, &health);
      agent = Agent::create(config, metrics, health, clock);
    }
    if (!rebuilt || !agent) {
      const std::string why = rebuilt ? agent.error().message() : rebuilt.error().message();
      log.critical("cannot start again after the database was damaged: {}", why);
      std::cerr << "cannot start again after the database was damaged: " << why << "\n";
      core::shutdownLogging();
      return 1;
    }
    (*agent)->start();
    sig = waitForSignal(**agent, signals);
  }
  log.info("stopping ({})", sig > 0 ? strsignal(sig) : (*agent)->rebuildNeeded() ? "damaged database" : "a stage failed");
  const bool clean = (*agent)->stop(kShutdownGrace);
  (*monitoring)->stop();  // "Total metrics", once every stage has stopped
  log.info("fimbeat stopped");
  if ((*agent)->stuck()) {
    core::shutdownLogging();
    std::_Exit(1);  // a stuck thread cannot be joined; leave without running destructors
  }
  core::shutdownLogging();
  return (clean && !(*agent)->failed() && !(*agent)->rebuildNeeded()) ? 0 : 1;
}

}  // namespace fim::app
