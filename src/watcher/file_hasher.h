#pragma once
// FileHasher: a file's content hashes, its head for MIME sniffing and the metadata that matches them.

#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "events/hash_type.h"
#include "core/result.h"
#include "watcher/hasher.h"
#include "watcher/rate_limiter.h"
#include "watcher/safe_file.h"

namespace fim::watcher {

struct HashOutcome {
  std::map<events::HashType, std::string> hashes;  // lowercase hex
  std::string head;                              // the first up to kHeadSize bytes, for MIME sniffing
  struct stat stat {};                           // fstat after hashing: the metadata these hashes match
  std::uint64_t bytesRead = 0;
  std::optional<std::string> content;            // the whole content, when asked for and small enough
};

// One per worker thread (it owns its buffer and hasher); not thread-safe. The limiter is shared.
class FileHasher {
 public:
  static constexpr std::size_t kChunkSize = 64 * 1024;
  static constexpr std::size_t kHeadSize = 4096;
  static constexpr int kMaxAttempts = 3;  // reads of a file that keeps changing before giving up

  // limiter may be null (no throttling); it must outlive the FileHasher.
  FileHasher(std::vector<events::HashType> types, RateLimiter* limiter);

  // Hashes a regular file, reading it once per attempt. Errors: "failed to hash <path>: ...";
  // a stop request gives a retryable "hashing interrupted".
  [[nodiscard]] core::Result<HashOutcome> hash(const PathAt& at, std::stop_token stop);
  // The same for a file already open: every attempt reads this file (this inode) from its start.
  // `keep` > 0: a file of at most that many bytes also gives its content (HashOutcome::content),
  // from the same read pass.
  [[nodiscard]] core::Result<HashOutcome> hash(SafeFile& file, std::stop_token stop, std::size_t keep = 0);

  // Tests only: called after each read pass (attempt 1, 2, ...) before the change check.
  void setAfterReadHookForTesting(std::function<void(int attempt)> hook) { afterRead_ = std::move(hook); }

 private:
  enum class Pass { Consistent, Changed };
  // `before`: the file's stat when the pass starts; `out.stat` is its stat when the pass ends.
  core::Result<Pass> hashOnce(SafeFile& file, const struct stat& before, int attempt, std::stop_token stop,
                              std::size_t keep, HashOutcome& out);

  std::vector<events::HashType> types_;
  // Made for the first file hashed: a scan that hashes nothing never initialises OpenSSL. Holds
  // the error when a type is unavailable.
  std::optional<core::Result<MultiHasher>> hasher_;
  RateLimiter* limiter_;
  std::vector<std::byte> buffer_;
  std::function<void(int attempt)> afterRead_;
};

// The first up to `max` bytes of a regular file that is not hashed (e.g. over max_file_size).
[[nodiscard]] core::Result<std::string> readHead(const PathAt& at, std::size_t max = FileHasher::kHeadSize);
[[nodiscard]] core::Result<std::string> readHead(SafeFile& file, std::size_t max = FileHasher::kHeadSize);

}  // namespace fim::watcher
