#pragma once
// Index management (setup.template.*, setup.ilm.*): the ILM policy and the composable index
// template, installed on connect and by `fimbeat setup --index-management`.

#include <stop_token>
#include <string>
#include <vector>

#include "core/result.h"
#include "output/elasticsearch/http_client.h"

namespace fim::output::es {

struct IndexSetup {
  bool templateEnabled = true;
  bool overwrite = false;  // setup.template.overwrite: replace an existing template
  bool ilmEnabled = true;
  std::string templateName;
  std::string templateBody;  // JSON
  std::string policyName;
  std::string policyBody;  // JSON
};

// PUT _ilm/policy/<name> (when ILM is enabled), then PUT _index_template/<name> unless it exists
// (HEAD first) and overwrite is off. Returns one line per step ("ILM policy fimbeat: installed").
[[nodiscard]] core::Result<std::vector<std::string>> installIndexManagement(HttpClient& client, const IndexSetup& setup,
                                                                          std::stop_token stop = {});

}  // namespace fim::output::es
