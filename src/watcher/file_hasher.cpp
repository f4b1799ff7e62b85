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

FileHasher::FileHasher(std::vector<core::HashType> types, RateLimiter* limiter)
    : hasher_(MultiHasher::create(std::move(types))), limiter_(limiter), buffer_(kChunkSize) {}

core::Result<HashOutcome> FileHasher::hash(const std::string& path, std::stop_token stop) {
  if (!hasher_) return std::unexpected(hasher_.error().context("failed to hash " + path));
  HashOutcome out;
  for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
    auto pass = hashOnce(path, attempt, stop, out);
    if (!pass) return std::unexpected(pass.error());
    if (*pass == Pass::Consistent) return out;
  }
  return std::unexpected(core::Error(core::ErrorCode::Io,
                                     "failed to hash " + path + ": file changed while it was being hashed", true));
}

core::Result<FileHasher::Pass> FileHasher::hashOnce(const std::string& path, int attempt, std::stop_token stop,
                                                    HashOutcome& out) {
  auto file = SafeFile::openForRead(path);
  if (!file) return std::unexpected(hashError(file.error()));
  MultiHasher& hasher = *hasher_;
  hasher.reset();
  out.head.clear();
  out.bytesRead = 0;
  while (true) {
    if (stop.stop_requested()) return std::unexpected(interrupted(path));
    auto n = file->read(buffer_);
    if (!n) return std::unexpected(hashError(n.error()));
    if (*n == 0) break;
    const std::span<const std::byte> chunk(buffer_.data(), *n);
    appendHead(out.head, chunk, kHeadSize);
    hasher.update(chunk);
    out.bytesRead += *n;
    // Paid after the read, for the bytes actually read: small files cost only their size.
    if (limiter_ != nullptr && !limiter_->acquire(*n, stop)) return std::unexpected(interrupted(path));
    // A short read that reached the size fstat gave is the end: no extra read for EOF. Growth
    // since is caught by the fstat below; a short read before that size just reads on.
    if (*n < buffer_.size() && out.bytesRead >= static_cast<std::uint64_t>(file->stat().st_size)) break;
  }
  if (afterRead_) afterRead_(attempt);

  auto after = file->statNow();
  if (!after) return std::unexpected(hashError(after.error()));
  if (changed(file->stat(), *after)) return Pass::Changed;
  auto digests = hasher.finish();
  if (!digests) return std::unexpected(digests.error().context("failed to hash " + path));
  out.hashes = std::move(*digests);
  out.stat = *after;
  return Pass::Consistent;
}

core::Result<std::string> readHead(const std::string& path, std::size_t max) {
  auto file = SafeFile::openForRead(path);
  if (!file) return std::unexpected(file.error());
  std::string head(max, '\0');
  std::size_t filled = 0;
  while (filled < max) {
    auto n = file->read(std::as_writable_bytes(std::span(head.data() + filled, max - filled)));
    if (!n) return std::unexpected(n.error());
    if (*n == 0) break;
    filled += *n;
  }
  head.resize(filled);
  return head;
}

}  // namespace fim::watcher
