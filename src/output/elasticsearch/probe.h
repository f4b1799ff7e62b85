#pragma once
// `fimbeat test output`: checks each host step by step (URL, connection, TLS, auth, version,
// write permission) and prints a report like beats' `test output`.

#include <chrono>
#include <cstddef>
#include <ostream>
#include <stop_token>
#include <string>

#include "core/result.h"

#include "config/output_config.h"

namespace fim::output::es {

// Writes the report to out; true when every host passed every step.
[[nodiscard]] bool probeOutput(const config::ElasticsearchOutputConfig& options, const std::string& target,
                               bool checkSetupPrivileges, std::ostream& out);

// The checks of `test output` that a new output must pass before it replaces a running one
// (a Fleet policy's atomic apply): each host that answers must accept the credentials (also over
// TLS), run Elasticsearch 8 or later and let them create documents in `target`. A host that does
// not answer (or answers 5xx) refuses nothing: the output will retry it. Returns how many hosts
// answered; an error names the host and what it refused. Each request waits `timeout` at most.
[[nodiscard]] core::Result<std::size_t> verifyOutput(const config::ElasticsearchOutputConfig& options,
                                                     const std::string& target, std::chrono::seconds timeout,
                                                     std::stop_token stop = {});

}  // namespace fim::output::es
