#pragma once
// loadScriptFiles: reads the files of every script processor (top level, modules, if/then/else)
// into its ScriptConfig::code. Relative paths are relative to path.config and globs are expanded,
// as in Beats. Each file must pass the config file's ownership and mode checks when strict.perms
// is on, and always when it lies in a watched path (nothing from a watched tree is trusted; a
// symlink there is refused).

#include "config/config.h"
#include "config/diagnostics.h"

namespace fim::config {

void loadScriptFiles(Config& config, bool strictPerms, Diagnostics& diagnostics);

}  // namespace fim::config
