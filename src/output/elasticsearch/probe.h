#pragma once
// `fimbeat test output`: checks each host step by step (URL, connection, TLS, auth, version,
// write permission) and prints a report like beats' `test output`.

#include <ostream>
#include <string>

#include "config/output_config.h"

namespace fim::output::es {

// Writes the report to out; true when every host passed every step.
[[nodiscard]] bool probeOutput(const config::ElasticsearchOutputConfig& options, const std::string& target,
                               bool checkSetupPrivileges, std::ostream& out);

}  // namespace fim::output::es
