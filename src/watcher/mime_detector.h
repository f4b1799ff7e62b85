#pragma once
// MimeDetector: the MIME type of a file's first bytes: from its signature when that decides
// (mime_sniffer.h), else libmagic's.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

struct magic_set;

namespace fim::watcher {

// NOT thread-safe: a libmagic cookie must not be shared, so keep one detector per worker thread.
// Only ever given buffers the caller already read; libmagic never opens a path from the watched tree.
class MimeDetector {
 public:
  // Bytes of the head that are looked at; callers pass what they already read, longer input is cut.
  static constexpr std::size_t kHeadSize = 4096;

  MimeDetector() = default;
  ~MimeDetector();
  MimeDetector(const MimeDetector&) = delete;
  MimeDetector& operator=(const MimeDetector&) = delete;
  MimeDetector(MimeDetector&& other) noexcept;  // leaves `other` disabled
  MimeDetector& operator=(MimeDetector&& other) noexcept;

  // e.g. "text/plain", "image/png"; nullopt when libmagic is needed and cannot be loaded, or fails.
  [[nodiscard]] std::optional<std::string> detect(std::string_view head);

  // libmagic's verdict alone (loading it on first use); nullopt when it is unavailable or fails.
  [[nodiscard]] std::optional<std::string> libmagic(std::string_view head);

 private:
  magic_set* cookie_ = nullptr;  // loaded on first use: its database is large
  bool loadFailed_ = false;
};

}  // namespace fim::watcher
