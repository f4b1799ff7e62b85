#pragma once
// The subcommands; each returns the process exit code.

#include "app/cli.h"

namespace fim::app {

int runAgent(const CliOptions& options);
int testConfig(const CliOptions& options);
int exportConfig(const CliOptions& options);
int printVersion();

// The folder of the running binary: path.home's default, as in beats.
std::string binaryDirectory();

}  // namespace fim::app
