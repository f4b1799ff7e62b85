#pragma once
// MimeDetector: libmagic's MIME type of a file's first bytes.

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

  MimeDetector();
  ~MimeDetector();
  MimeDetector(const MimeDetector&) = delete;
  MimeDetector& operator=(const MimeDetector&) = delete;
  MimeDetector(MimeDetector&& other) noexcept;  // leaves `other` disabled
  MimeDetector& operator=(MimeDetector&& other) noexcept;

  // False when libmagic or its database could not be loaded; detect() then always returns nullopt.
  bool available() const { return cookie_ != nullptr; }

  // e.g. "text/plain", "image/png"; nullopt when unavailable or libmagic fails on the buffer.
  [[nodiscard]] std::optional<std::string> detect(std::string_view head);

 private:
  magic_set* cookie_ = nullptr;
};

}  // namespace fim::watcher
