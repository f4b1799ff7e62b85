#include "watcher/package/package_manager.h"

#include <algorithm>
#include <array>
#include <string_view>

namespace fim::watcher {
namespace {

// Process names (comm, at most 15 characters) and executable names of the tools that install
// packages. unattended-upgrades is a Python script: its comm is "unattended-upgr".
constexpr std::array<std::string_view, 12> kNames{
    "dpkg", "apt", "apt-get", "aptitude", "unattended-upgr", "unattended-upgrades",
    "rpm",  "dnf", "yum",     "microdnf", "dnf5",            "packagekitd",
};

bool known(std::string_view name) { return std::find(kNames.begin(), kNames.end(), name) != kNames.end(); }

}  // namespace

bool isPackageManager(const events::ProcessInfo& process) {
  if (known(process.name)) return true;
  std::string_view exe = process.executable;
  if (const auto slash = exe.rfind('/'); slash != std::string_view::npos) exe.remove_prefix(slash + 1);
  return !exe.empty() && known(exe);
}

}  // namespace fim::watcher
