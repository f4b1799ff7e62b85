#include "watcher/file_hasher.h"

#include <algorithm>
#include <span>

#include "watcher/safe_file.h"

namespace fim::watcher {
namespace {

// SafeFile's messages start with the path: "failed to hash <path>: <reason>".
core::Error hashError(const core::Error& error) {
  return core::Error(error.code(), "failed to hash " + error.message(), error.retryable());
}

core::Error interrupted(const std::string& path) {
  return core::Error(core::ErrorCode::Unavailable, "failed to hash " + path + ": hashing interrupted", true);
}

bool sameTime(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

// A write during the read shows in the size, mtime or ctime.
bool changed(const struct stat& before, const struct stat& after) {
  return before.st_size != after.st_size || !sameTime(before.st_mtim, after.st_mtim) ||
         !sameTime(before.st_ctim, after.st_ctim);
}

void appendHead(std::string& head, std::span<const std::byte> chunk, std::size_t max) {
  if (head.size() >= max) return;
  const std::size_t n = std::min(max - head.size(), chunk.size());
  head.append(reinterpret_cast<const char*>(chunk.data()), n);
}

}  // namespace

FileHasher::FileHasher(std::vector<events::HashType> types, RateLimiter* limiter)
    : types_(std::move(types)), limiter_(limiter), buffer_(kChunkSize) {}

core::Result<HashOutcome> FileHasher::hash(const PathAt& at, std::stop_token stop) {
  auto file = SafeFile::openForRead(at);
  if (!file) return std::unexpected(hashError(file.error()));
  return hash(*file, stop);
}

core::Result<HashOutcome> FileHasher::hash(SafeFile& file, std::stop_token stop, std::size_t keep) {
  const std::string& path = file.path();
  if (!hasher_) hasher_.emplace(MultiHasher::create(types_));
  if (!*hasher_) return std::unexpected(hasher_->error().context("failed to hash " + path));
  HashOutcome out;
  struct stat before = file.stat();
  for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
    if (attempt > 1) {
      if (auto rewound = file.rewind(); !rewound) return std::unexpected(hashError(rewound.error()));
    }
    auto pass = hashOnce(file, before, attempt, stop, keep, out);
    if (!pass) return std::unexpected(pass.error());
    if (*pass == Pass::Consistent) return out;
    before = out.stat;  // the next pass must see nothing move from here
  }
  return std::unexpected(core::Error(core::ErrorCode::Io,
                                     "failed to hash " + path + ": file changed while it was being hashed", true));
}

core::Result<FileHasher::Pass> FileHasher::hashOnce(SafeFile& file, const struct stat& before, int attempt,
                                                    std::stop_token stop, std::size_t keep, HashOutcome& out) {
  const std::string& path = file.path();
  MultiHasher& hasher = **hasher_;
  hasher.reset();
  out.head.clear();
  out.bytesRead = 0;
  out.content.reset();
  if (keep > 0 && static_cast<std::uint64_t>(before.st_size) <= keep) out.content.emplace();
  while (true) {
    if (stop.stop_requested()) return std::unexpected(interrupted(path));
    auto n = file.read(buffer_);
    if (!n) return std::unexpected(hashError(n.error()));
    if (*n == 0) break;
    const std::span<const std::byte> chunk(buffer_.data(), *n);
    appendHead(out.head, chunk, kHeadSize);
    if (out.content) {  // grown past `keep` while read: none
      if (out.content->size() + chunk.size() > keep) {
        out.content.reset();
      } else {
        out.content->append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
      }
    }
    hasher.update(chunk);
    out.bytesRead += *n;
    // Paid after the read, for the bytes actually read: small files cost only their size.
    if (limiter_ != nullptr && !limiter_->acquire(*n, stop)) return std::unexpected(interrupted(path));
    // A short read that reached the size fstat gave is the end: no extra read for EOF. Growth
    // since is caught by the fstat below; a short read before that size just reads on.
    if (*n < buffer_.size() && out.bytesRead >= static_cast<std::uint64_t>(before.st_size)) break;
  }
  if (afterRead_) afterRead_(attempt);

  auto after = file.statNow();
  if (!after) return std::unexpected(hashError(after.error()));
  out.stat = *after;
  if (changed(before, *after)) return Pass::Changed;
  auto digests = hasher.finish();
  if (!digests) return std::unexpected(digests.error().context("failed to hash " + path));
  out.hashes = std::move(*digests);
  return Pass::Consistent;
}

core::Result<std::string> readHead(const PathAt& at, std::size_t max) {
  auto file = SafeFile::openForRead(at);
  if (!file) return std::unexpected(file.error());
  return readHead(*file, max);
}

core::Result<std::string> readHead(SafeFile& file, std::size_t max) {
  std::string head(max, '\0');
  std::size_t filled = 0;
  while (filled < max) {
    auto n = file.read(std::as_writable_bytes(std::span(head.data() + filled, max - filled)));
    if (!n) return std::unexpected(n.error());
    if (*n == 0) break;
    filled += *n;
  }
  head.resize(filled);
  return head;
}

}  // namespace fim::watcher
