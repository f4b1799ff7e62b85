#pragma once
// fimbeat keystore create|add|list|remove, as Beats' keystore commands. They need only path.data
// (flags, or the config file's path.* settings), never a valid configuration: a config that
// refers to a ${KEY} not yet in the keystore must not stop `keystore add KEY`.

#include <iosfwd>

#include "app/cli.h"

namespace fim::app {

// Returns the exit code; values are read from `in` (--stdin, or a prompt without echo on a terminal).
int keystoreCommand(const CliOptions& options, std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace fim::app
