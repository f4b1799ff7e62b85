#include "output/elasticsearch/index_setup.h"

#include <fmt/format.h>

#include "output/elasticsearch/bulk_response.h"

namespace fim::output::es {
namespace {

core::Error refused(const std::string& what, const HttpResponse& response) {
  const bool retryable = response.status == 429 || response.status >= 500;
  std::string hint;
  if (response.status == 401 || response.status == 403) {
    hint = " (the user needs the manage_ilm and manage_index_templates cluster privileges, or set setup.template.enabled: false)";
  }
  return core::Error(response.status == 403 || response.status == 401 ? core::ErrorCode::PermissionDenied
                                                                      : core::ErrorCode::Unavailable,
                     fmt::format("{}: HTTP {}: {}{}", what, response.status, describeErrorBody(response.body), hint),
                     retryable);
}

}  // namespace

core::Result<std::vector<std::string>> installIndexManagement(HttpClient& client, const IndexSetup& setup,
                                                              std::stop_token stop) {
  std::vector<std::string> done;
  if (setup.ilmEnabled) {
    const std::string what = "installing ILM policy " + setup.policyName;
    auto put = client.send({"PUT", "/_ilm/policy/" + setup.policyName, setup.policyBody}, stop);
    if (!put) return std::unexpected(put.error().context(what));
    if (put->status < 200 || put->status >= 300) return std::unexpected(refused(what, *put));
    done.push_back("ILM policy " + setup.policyName + ": installed");
  }
  if (!setup.templateEnabled) return done;
  const std::string path = "/_index_template/" + setup.templateName;
  if (!setup.overwrite) {
    auto head = client.send({"HEAD", path}, stop);
    if (!head) return std::unexpected(head.error().context("checking index template " + setup.templateName));
    if (head->status == 200) {
      done.push_back("index template " + setup.templateName + ": exists, kept (setup.template.overwrite is false)");
      return done;
    }
    if (head->status != 404) return std::unexpected(refused("checking index template " + setup.templateName, *head));
  }
  const std::string what = "installing index template " + setup.templateName;
  auto put = client.send({"PUT", path, setup.templateBody}, stop);
  if (!put) return std::unexpected(put.error().context(what));
  if (put->status < 200 || put->status >= 300) return std::unexpected(refused(what, *put));
  done.push_back("index template " + setup.templateName + ": installed");
  return done;
}

}  // namespace fim::output::es
