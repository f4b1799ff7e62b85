#include "watcher/package/package_snapshot.h"

#include <algorithm>

namespace fim::watcher {

const OwnedFile* PackageSnapshot::find(std::string_view path) const {
  const auto it = files_.find(path);
  return it == files_.end() ? nullptr : &it->second;
}

std::uint32_t PackageSnapshot::addPackage(InstalledPackage package) {
  packages_.push_back(std::move(package));
  return static_cast<std::uint32_t>(packages_.size() - 1);
}

void PackageSnapshot::addFile(std::string path, const OwnedFile& file) {
  auto [it, inserted] = files_.try_emplace(std::move(path), file);
  if (!inserted && file.conffile && !it->second.conffile) it->second = file;
}

bool isMd5Hex(std::string_view hex) {
  return hex.size() == 32 && std::all_of(hex.begin(), hex.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
         });
}

}  // namespace fim::watcher
