#include "kibana/dashboard_loader.h"

#include <fmt/format.h>

#include "kibana/object_encoder.h"

namespace fim::kibana {
namespace {

std::string problemReport(const std::string& base, const ImportResult& result) {
  std::string report = fmt::format("Kibana at {} refused {} of the saved objects:", base, result.problems.size());
  for (const auto& problem : result.problems) report += "\n  " + problem.describe();
  if (result.problems.empty()) report += "\n  (it answered success: false without naming an object)";
  return report;
}

}  // namespace

core::Result<ImportPlan> planImport(const config::DashboardsConfig& dashboards, const std::string& dataViewTitle,
                                    const std::string& dashboardId) {
  Selection selection;
  selection.dashboards = !dashboards.onlyIndex;
  selection.dataViews = !dashboards.onlyDashboards;
  selection.dashboardId = dashboardId;
  selection.replacements = dashboards.stringReplacements;
  auto objects = collectObjects(dashboards.directory, selection);
  if (!objects) return std::unexpected(objects.error());
  ImportPlan plan;
  const EncodeOptions options{dataViewTitle};
  for (auto& object : *objects) {
    auto line = encodeObject(object, options);
    if (!line) return std::unexpected(line.error());
    plan.lines.push_back(std::move(*line));
  }
  plan.objects = std::move(*objects);
  return plan;
}

core::Status loadDashboards(const config::KibanaConfig& kibana, const config::DashboardsConfig& dashboards,
                            const std::string& dataViewTitle, std::ostream& out, const Pause& pause) {
  auto plan = planImport(dashboards, dataViewTitle);
  if (!plan) return std::unexpected(plan.error());
  auto url = kibanaUrl(kibana);
  if (!url) return std::unexpected(url.error());
  KibanaClient client(*url, kibana);
  auto status = client.waitForKibana(dashboards, out, pause);
  if (!status) return std::unexpected(status.error().context("Kibana at " + client.base()));
  out << "Kibana " << status->version << " at " << client.base()
      << (kibana.spaceId.empty() ? std::string() : ", space " + kibana.spaceId)
      << (kibana.credentialsFromOutput ? ", with output.elasticsearch's credentials" : "") << "\n";
  auto result = client.importObjects(plan->lines);
  if (!result) return std::unexpected(result.error().context("Kibana at " + client.base()));
  if (!result->success || !result->problems.empty()) {
    return core::fail(core::ErrorCode::InvalidArgument, problemReport(client.base(), *result));
  }
  for (const auto& object : plan->objects) out << "  " << object.type << " " << object.id << " \"" << object.title << "\": imported\n";
  out << "Loaded dashboards (" << result->successCount << " saved objects)\n";
  return {};
}

}  // namespace fim::kibana
