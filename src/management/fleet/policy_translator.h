#pragma once
// Policy translation (design §4.5, §7.4): the policy of a POLICY_CHANGE → fimbeat's own config
// text, which config::loadText then validates with the same code as a local file. Each
// `audit/file_integrity` stream becomes one `file_integrity` module with the stream's options
// (Fleet's injected keys `id`, `type`, `data_stream`, `index`, `publisher_pipeline` and `null`
// values taken out); the output is `outputs[use_output]` (elasticsearch only) with its api_key;
// `data_stream.namespace` names the data stream; elastic_agent.* is added as Elastic Agent does.

#include <string>
#include <vector>

#include "core/result.h"

namespace fim::management::fleet {

struct Translation {
  std::string yaml;                            // the complete fimbeat config (local base + policy)
  std::string policyId;
  std::int64_t revision = 0;
  std::string outputName;                      // use_output of the fim inputs ("" when none)
  std::vector<std::string> inputIds;           // the fim inputs' ids (checkin unit ids embed them)
  std::vector<std::string> unsupportedInputs;  // "<type> (<id>)": FAILED components, not a rejection
  std::vector<std::string> warnings;           // ignored keys, agent.monitoring (decision 5)
  std::string logLevel;                        // agent.logging.level, "" if unset
};

struct AgentInfo {
  std::string id;
  std::string version;
};

// `localYaml`: the local config file's text; its module and output sections are replaced
// (decision 4), the rest (path.*, logging.*, queue.*, processors ...) kept. An error is a
// rejection reason a person can act on.
[[nodiscard]] core::Result<Translation> translatePolicy(const std::string& policyJson, const std::string& localYaml,
                                                        const AgentInfo& agent);

// The local sections a managed fimbeat ignores (decision 4), for one warning each.
std::vector<std::string> ignoredLocalSections(const std::string& localYaml);

}  // namespace fim::management::fleet
