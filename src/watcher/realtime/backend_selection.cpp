#include "watcher/realtime/backend_selection.h"

#include <fstream>
#include <sstream>

#include "core/logging.h"
#include "watcher/inotify/inotify_backend.h"

namespace fim::watcher {
namespace {

constexpr int kCapSysAdmin = 21;

BackendKind wanted(const std::string& name, bool privileged, bool fanotifyAvailable) {
  if (name == "fanotify" || name == "kprobes" || name == "ebpf") return BackendKind::Fanotify;
  if (name == "auto") return privileged && fanotifyAvailable ? BackendKind::Fanotify : BackendKind::Inotify;
  return BackendKind::Inotify;  // inotify, fsnotify
}

const char* nameOf(BackendKind kind) { return kind == BackendKind::Fanotify ? "fanotify" : "inotify"; }

}  // namespace

BackendChoice chooseBackend(const std::vector<std::string>& requested, bool privileged, bool fanotifyAvailable) {
  BackendChoice choice;
  if (requested.empty()) return choice;
  choice.kind = wanted(requested.front(), privileged, fanotifyAvailable);
  for (const auto& name : requested) {
    if (wanted(name, privileged, fanotifyAvailable) != choice.kind) {
      choice.warnings.push_back("modules ask for different backends; all of them use " +
                                std::string(nameOf(choice.kind)) + " (the first module's)");
      break;
    }
  }
  if (choice.kind == BackendKind::Fanotify && !(privileged && fanotifyAvailable)) {
    choice.warnings.push_back(std::string("backend fanotify is not available (") +
                              (privileged ? "not in this build or kernel" : "needs CAP_SYS_ADMIN") +
                              "); using inotify");
    choice.kind = BackendKind::Inotify;
  }
  return choice;
}

bool hasSysAdmin() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (!line.starts_with("CapEff:")) continue;
    std::uint64_t caps = 0;
    std::istringstream(line.substr(7)) >> std::hex >> caps;
    return (caps >> kCapSysAdmin) & 1u;
  }
  return false;
}

std::unique_ptr<ChangeBackend> makeBackend(const std::vector<config::ModuleConfig>& modules, core::Metrics& metrics,
                                           const BackendFactories& factories) {
  std::vector<std::string> requested;
  for (const auto& m : modules) {
    if (m.enabled) requested.push_back(m.backend);
  }
  const BackendChoice choice = chooseBackend(requested, hasSysAdmin(), static_cast<bool>(factories.fanotify));
  auto& log = core::logger("watcher");
  for (const auto& warning : choice.warnings) log.warn("{}", warning);
  if (choice.kind == BackendKind::Fanotify) {
    if (auto backend = factories.fanotify()) return backend;
    log.warn("the fanotify backend could not be created; using inotify");
  }
  return std::make_unique<InotifyBackend>(modules, metrics);
}

}  // namespace fim::watcher
