#pragma once
// Whether the process that changed a file is a package manager (dpkg, apt, rpm, dnf, ...).

#include "events/metadata.h"

namespace fim::watcher {

bool isPackageManager(const events::ProcessInfo& process);

}  // namespace fim::watcher
