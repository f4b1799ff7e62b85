#pragma once
// The subcommands; each returns the process exit code.

#include <optional>
#include <string>

#include "app/cli.h"
#include "config/config.h"
#include "output/elasticsearch/index_setup.h"

namespace fim::app {

int runAgent(const CliOptions& options);
int testConfig(const CliOptions& options);
int exportConfig(const CliOptions& options);
int printVersion();
int testOutput(const CliOptions& options);               // fimbeat test output
int exportTemplate(const CliOptions& options);           // fimbeat export template
int exportIlmPolicy(const CliOptions& options);          // fimbeat export ilm-policy
int setupIndexManagement(const CliOptions& options);     // fimbeat setup --index-management

// Where documents go: output.elasticsearch.index when set, else the data stream's name.
std::string writeTarget(const config::Config& config);
// The composable index template for the data stream (replaced by the mapper's generator).
std::string indexTemplateBody(const config::Config& config);
std::string indexTemplateName(const config::Config& config);
// The ILM policy installed as setup.ilm.policy_name.
std::string ilmPolicyBody();
// setup.* as the Elasticsearch output's index management; nullopt when both parts are off.
std::optional<output::es::IndexSetup> indexSetup(const config::Config& config);

// The folder of the running binary: path.home's default, as in beats.
std::string binaryDirectory();

}  // namespace fim::app
