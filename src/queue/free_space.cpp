#include "queue/free_space.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>

namespace fim::queue {

core::Result<FreeSpace> freeSpaceOf(const std::string& directory) {
  struct statvfs fs {};
  if (::statvfs(directory.c_str(), &fs) != 0) {
    return std::unexpected(core::errnoError("cannot measure the free space of " + directory, errno));
  }
  return FreeSpace{static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize,
                   static_cast<std::uint64_t>(fs.f_blocks) * fs.f_frsize};
}

std::uint64_t SpaceReserve::required(std::uint64_t total) const {
  std::optional<std::uint64_t> need;
  if (bytes) need = *bytes;
  if (percent) {
    const auto share = static_cast<std::uint64_t>(static_cast<double>(total) * *percent / 100.0);
    need = need ? std::min(*need, share) : share;
  }
  return need.value_or(0);
}

}  // namespace fim::queue
