#pragma once
// `fimbeat setup --dashboards` and `fimbeat export dashboard`: which objects one import sends
// (setup.dashboards.*), encoded as Kibana takes them, and the import itself.

#include <ostream>
#include <string>
#include <vector>

#include "config/kibana_config.h"
#include "core/result.h"
#include "kibana/kibana_client.h"
#include "kibana/saved_object.h"

namespace fim::kibana {

struct ImportPlan {
  std::vector<ObjectFile> objects;  // referenced objects first
  std::vector<std::string> lines;   // each object encoded, one JSON line each
};

// The objects under setup.dashboards.directory (or one dashboard with its references), with
// only_dashboards/only_index and string_replacements applied and the data view's title set to
// dataViewTitle (setup.dashboards.index, else the data stream's pattern).
[[nodiscard]] core::Result<ImportPlan> planImport(const config::DashboardsConfig& dashboards, const std::string& dataViewTitle,
                                                  const std::string& dashboardId = "");

// Waits for Kibana (setup.dashboards.retry), checks its version and imports the plan; prints a
// line per object to out. Fails naming each object Kibana refused, with its type, id and reason.
[[nodiscard]] core::Status loadDashboards(const config::KibanaConfig& kibana, const config::DashboardsConfig& dashboards,
                                          const std::string& dataViewTitle, std::ostream& out,
                                          const Pause& pause = sleepFor);

}  // namespace fim::kibana
