#pragma once
// Which kernel API watches the configured paths: the `backend` option, the process's privilege
// and what this build offers. One backend serves every module (one set of roots, one baseline).

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/metrics.h"
#include "core/result.h"
#include "watcher/realtime/change_backend.h"

namespace fim::watcher {

enum class BackendKind { Inotify, Fanotify };

struct BackendChoice {
  BackendKind kind = BackendKind::Inotify;
  std::vector<std::string> warnings;  // to log once: fallbacks and conflicting module settings
};

// `requested`: each enabled module's backend option (auto, fsnotify, inotify, fanotify, kprobes,
// ebpf). auto picks fanotify when privileged and fanotify is available, else inotify; fsnotify
// is inotify; kprobes and ebpf are fanotify (config validation already warned about them).
BackendChoice chooseBackend(const std::vector<std::string>& requested, bool privileged, bool fanotifyAvailable);

// CAP_SYS_ADMIN in the effective set (what fanotify's filesystem marks need).
bool hasSysAdmin();

using BackendFactory = std::function<std::unique_ptr<ChangeBackend>()>;

struct BackendFactories {
  BackendFactory fanotify;  // empty until the fanotify backend exists; it also reports kernel support
};

// The chosen backend, built. Logs the choice and any warning.
std::unique_ptr<ChangeBackend> makeBackend(const std::vector<config::ModuleConfig>& modules, core::Metrics& metrics,
                                           const BackendFactories& factories);

}  // namespace fim::watcher
