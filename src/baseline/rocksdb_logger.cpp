#include "baseline/rocksdb_logger.h"

#include <cstdio>
#include <regex>
#include <string>

#include "core/logging.h"

namespace fim::baseline {
namespace {

std::string format(const char* fmt, va_list ap) {
  char small[512];
  va_list copy;
  va_copy(copy, ap);
  const int n = std::vsnprintf(small, sizeof small, fmt, copy);
  va_end(copy);
  if (n < 0) return fmt;
  if (static_cast<std::size_t>(n) < sizeof small) return std::string(small, static_cast<std::size_t>(n));
  std::string out(static_cast<std::size_t>(n) + 1, '\0');
  std::vsnprintf(out.data(), out.size(), fmt, ap);
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// RocksDB's log reader reports each damaged stretch of a write-ahead log as "...: dropping N bytes; ...".
std::uint64_t droppedBytes(const std::string& message) {
  static const std::regex dropping(R"(dropping (\d+) bytes)");
  std::smatch match;
  if (!std::regex_search(message, match, dropping)) return 0;
  return std::stoull(match[1].str());
}

}  // namespace

RocksDbLogger::RocksDbLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}

void RocksDbLogger::Logv(const char* format, va_list ap) { Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap); }

void RocksDbLogger::Logv(rocksdb::InfoLogLevel level, const char* fmt, va_list ap) {
  if (level < GetInfoLogLevel()) return;
  const std::string message = format(fmt, ap);
  auto& log = core::logger("database");
  if (level >= rocksdb::InfoLogLevel::ERROR_LEVEL) {
    log.error("rocksdb: {}", message);
  } else {
    log.warn("rocksdb: {}", message);
  }
  if (const auto bytes = droppedBytes(message); bytes > 0) droppedWalBytes_ += bytes;
}

}  // namespace fim::baseline
