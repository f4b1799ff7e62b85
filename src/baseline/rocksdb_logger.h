#pragma once
// RocksDbLogger: RocksDB's own messages (its "info log") go to fimbeat's log as component
// "database" instead of a LOG file beside the data: a LOG that cannot be written on a full disk
// must not take the process down, and what RocksDB says about recovery reaches the operator.

#include <atomic>
#include <cstdarg>
#include <cstdint>

#include <rocksdb/env.h>

namespace fim::baseline {

class RocksDbLogger final : public rocksdb::Logger {
 public:
  RocksDbLogger();

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override;
  void Logv(rocksdb::InfoLogLevel level, const char* format, va_list ap) override;

  // Bytes of the write-ahead log RocksDB reported dropping while it recovered (a log damaged
  // or torn by a crash): the writes they held are gone from the baseline and the queue.
  std::uint64_t droppedWalBytes() const { return droppedWalBytes_.load(); }

 private:
  std::atomic<std::uint64_t> droppedWalBytes_{0};
};

}  // namespace fim::baseline
