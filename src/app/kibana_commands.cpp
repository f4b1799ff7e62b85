// `fimbeat setup` (index management and dashboards) and `fimbeat export dashboard`.

#include <filesystem>
#include <fstream>
#include <iostream>

#include <sstream>

#include "app/commands.h"
#include "core/logging.h"
#include "kibana/dashboard_loader.h"

namespace fim::app {
namespace {

namespace fs = std::filesystem;

// Writes each object as <folder>/<type>/<id>.json, as setup would send it: the folder can be
// used as setup.dashboards.directory.
int writeFolder(const std::string& folder, const kibana::ImportPlan& plan) {
  for (std::size_t i = 0; i < plan.objects.size(); ++i) {
    const auto& object = plan.objects[i];
    const fs::path path = fs::path(folder) / object.type / (object.id + ".json");
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (ec || !(out << plan.lines[i] << "\n") || !out.flush()) {
      std::cerr << "cannot write " << path.string() << (ec ? ": " + ec.message() : std::string()) << "\n";
      return 1;
    }
    std::cout << path.string() << "\n";
  }
  return 0;
}

// Where Kibana is. cloud.id has already been written into setup.kibana.host by the loader
// (config/cloud_id.cpp), as Beats overwrite it.
config::KibanaConfig kibanaSettings(const config::Config& config) { return config.setup.kibana; }

}  // namespace

std::string dataViewTitle(const config::Config& config) {
  const auto& index = config.setup.dashboards.index;
  return index.empty() ? config.dataStream.type + "-" + config.dataStream.dataset + "-*" : index;
}

int setupDashboards(const config::Config& config) {
  const auto settings = kibanaSettings(config);
  auto loaded = kibana::loadDashboards(settings, config.setup.dashboards, dataViewTitle(config), std::cout);
  if (!loaded) {
    std::cerr << "Loading dashboards failed: " << loaded.error().message() << "\n";
    return 1;
  }
  return 0;
}

bool loadDashboardsAtStart(const config::Config& config, const sigset_t& signals) {
  auto& log = core::logger("kibana");
  const auto pause = [&signals](std::chrono::nanoseconds interval) {
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(interval);
    const timespec wait{static_cast<time_t>(seconds.count()), static_cast<long>((interval - seconds).count())};
    return ::sigtimedwait(&signals, nullptr, &wait) < 0;  // a signal taken here means stop
  };
  std::ostringstream progress;
  const auto settings = kibanaSettings(config);
  auto loaded = kibana::loadDashboards(settings, config.setup.dashboards, dataViewTitle(config), progress, pause);
  std::istringstream lines(progress.str());
  for (std::string line; std::getline(lines, line);) log.info("{}", line);
  if (!loaded) {
    log.critical("setup.dashboards.enabled: loading dashboards failed: {}", loaded.error().message());
    std::cerr << "Loading dashboards failed: " << loaded.error().message() << "\n";
    return false;
  }
  return true;
}

int setup(const CliOptions& options) {
  auto loaded = loadConfig(options);
  if (!loaded) {
    std::cerr << "Config is not valid:\n" << loaded.error().message() << "\n";
    return 1;
  }
  for (const auto& w : loaded->warnings) std::cerr << "WARNING " << w.describe() << "\n";
  const bool all = !options.indexManagement && !options.dashboards;  // as Beats: `setup` alone does everything
  int rc = 0;
  if (all || options.indexManagement) rc |= setupIndexManagement(loaded->config);
  if (all || options.dashboards) rc |= setupDashboards(loaded->config);  // forced on, whatever setup.dashboards.enabled says
  return rc;
}

int exportDashboard(const CliOptions& options) {
  auto loaded = loadConfig(options);
  if (!loaded) {
    std::cerr << "Config is not valid:\n" << loaded.error().message() << "\n";
    return 1;
  }
  const auto& config = loaded->config;
  auto plan = kibana::planImport(config.setup.dashboards, dataViewTitle(config), options.dashboardId);
  if (!plan) {
    std::cerr << "Exporting dashboard " << options.dashboardId << " failed: " << plan.error().message() << "\n";
    return 1;
  }
  if (!options.folder.empty()) return writeFolder(options.folder, *plan);
  for (const auto& line : plan->lines) std::cout << line << "\n";
  return 0;
}

}  // namespace fim::app
