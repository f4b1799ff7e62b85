#pragma once
// The subcommands; each returns the process exit code.

#include <signal.h>

#include <functional>
#include <optional>
#include <string>

#include "app/cli.h"
#include "config/config.h"
#include "config/loader.h"
#include "events/delivery_settings.h"
#include "events/metadata.h"
#include "management/monitoring.h"
#include "output/elasticsearch/index_setup.h"

namespace fim::app {

// The configuration a command runs with (-c, -E, --path.*; path.home defaults to the binary's folder).
[[nodiscard]] core::Result<config::Loaded> loadConfig(const CliOptions& options);
// ... without requiring modules or an output: enroll, unenroll, status (a policy brings them).
[[nodiscard]] core::Result<config::Loaded> loadConfigWithoutModules(const CliOptions& options);

int runAgent(const CliOptions& options);
int testConfig(const CliOptions& options);
int exportConfig(const CliOptions& options);
int printVersion();
int testOutput(const CliOptions& options);               // fimbeat test output
int exportTemplate(const CliOptions& options);           // fimbeat export template
int exportIlmPolicy(const CliOptions& options);          // fimbeat export ilm-policy
int setup(const CliOptions& options);                    // fimbeat setup [--index-management] [--dashboards]
int exportDashboard(const CliOptions& options);          // fimbeat export dashboard --id ID [--folder DIR]
int enroll(const CliOptions& options);                   // fimbeat enroll --url URL --enrollment-token TOKEN
int unenroll(const CliOptions& options);                 // fimbeat unenroll
int fleetStatus(const CliOptions& options);              // fimbeat status [--json]
int approve(const CliOptions& options);                  // fimbeat approve (approve_commands.cpp)

// `fimbeat run` when the data directory holds a Fleet enrollment: the exit code; nullopt when
// fimbeat is standalone (fleet_commands.cpp). `config`: the local file, loaded once without
// requiring modules or an output (the policy brings them).
bool enrolledInFleet(const std::string& dataDir);  // a Fleet state file exists
std::optional<int> runManagedIfEnrolled(const CliOptions& options, const config::Config& config,
                                        const sigset_t& signals,
                                        const std::function<void(const std::string&)>& setLogLevel);

// The monitoring endpoint (http.*) and metrics log lines of `fimbeat run`, standalone or managed.
[[nodiscard]] core::Result<std::unique_ptr<management::Monitoring>> startMonitoring(const config::Config& config,
                                                                                   const events::Metadata& metadata,
                                                                                   const core::Metrics& metrics,
                                                                                   const core::Health& health,
                                                                                   bool managed = false);

// Installs the ILM policy and the index template through output.elasticsearch; the exit code.
int setupIndexManagement(const config::Config& config);
// Imports setup.dashboards.directory into setup.kibana (kibana_commands.cpp); the exit code.
int setupDashboards(const config::Config& config);
// setup.dashboards.enabled: the import at `fimbeat run`'s start, logged; a stop signal (blocked,
// in `signals`) ends the wait for Kibana. False when the agent must not start.
bool loadDashboardsAtStart(const config::Config& config, const sigset_t& signals);
// The data view's index pattern: setup.dashboards.index, else <data_stream.type>-<dataset>-*.
std::string dataViewTitle(const config::Config& config);

// Where documents go: output.elasticsearch.index when set, else the data stream's name.
std::string writeTarget(const config::Config& config);
// What the durable queue keeps per configuration generation: the write target (none when a
// format string chooses it per event) and the data stream.
events::DeliverySettings deliverySettings(const config::Config& config);
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
