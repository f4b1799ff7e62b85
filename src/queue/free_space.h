#pragma once
// FreeSpace: how much room the file system under path.data has left, and the reserve below which
// the queue stops taking events (queue.min_free): the database must never meet a full disk.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "core/result.h"

namespace fim::queue {

struct FreeSpace {
  std::uint64_t available = 0;  // bytes an unprivileged writer may still use
  std::uint64_t total = 0;      // the file system's size
};

// statvfs() of the file system holding `directory`.
[[nodiscard]] core::Result<FreeSpace> freeSpaceOf(const std::string& directory);

struct SpaceReserve {
  std::optional<std::uint64_t> bytes;  // at least this much free
  std::optional<double> percent;       // at least this share of the file system free
  // How space is measured (freeSpaceOf(path.data) in production; tests pass their own).
  std::function<core::Result<FreeSpace>()> probe;

  // The bytes that must stay free on a file system of `total` bytes: the smaller of the limits
  // that are set, 0 when none is.
  std::uint64_t required(std::uint64_t total) const;
};

}  // namespace fim::queue
