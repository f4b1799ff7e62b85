#pragma once
// ${VAR}, ${VAR:default}, ${VAR:?message} expansion in config values; $${ is a literal ${.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "config/diagnostics.h"
#include "config/node.h"
#include "core/result.h"

namespace fim::config {

using Lookup = std::function<std::optional<std::string>(std::string_view name)>;

// Expands one value. A reference with no value and no default is an error naming it.
[[nodiscard]] core::Result<std::string> expandValue(std::string_view text, const Lookup& lookup);

// Expands every scalar in the tree. Names resolve first to another scalar of the same tree
// (e.g. ${path.home}), then to the keystore (values taken literally; the scalar is marked
// secret), then to the environment; each problem is reported with its key path. `keystore`
// may be empty.
void expandTree(Node& root, const Lookup& keystore, const Lookup& environment, Diagnostics& diagnostics);

std::optional<std::string> processEnvironment(std::string_view name);

}  // namespace fim::config
