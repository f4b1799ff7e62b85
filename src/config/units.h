#pragma once
// Sizes ("50 MiB", "1GB", "1024") and durations ("1s", "5m", "1h30m") as beats users write them.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace fim::config {

using Duration = std::chrono::nanoseconds;

// Bytes; binary units (KiB, MiB, ...) are powers of 1024, decimal ones (KB, MB, ...) powers of 1000.
[[nodiscard]] core::Result<std::uint64_t> parseSize(std::string_view text);

// Go's time.ParseDuration syntax; a bare number means seconds.
[[nodiscard]] core::Result<Duration> parseDuration(std::string_view text);

std::string formatSize(std::uint64_t bytes);
std::string formatDuration(Duration d);

}  // namespace fim::config
