#pragma once
// MimeDetector: the MIME type of a file's first bytes: from its signature when that decides
// (mime_sniffer.h), else libmagic's. One per scan or realtime loop, shared by its workers:
// libmagic's database costs about 9 MiB of memory per loaded copy, and it is needed only for
// text, so its one copy is loaded on first use and its calls are serialised.

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

struct magic_set;

namespace fim::watcher {

// Thread-safe. libmagic is only ever given buffers the caller already read: it never opens a
// path from the watched tree.
class MimeDetector {
 public:
  // Bytes of the head that are looked at; callers pass what they already read, longer input is cut.
  static constexpr std::size_t kHeadSize = 4096;

  MimeDetector() = default;
  ~MimeDetector();
  MimeDetector(const MimeDetector&) = delete;
  MimeDetector& operator=(const MimeDetector&) = delete;

  // e.g. "text/plain", "image/png"; nullopt when libmagic is needed and cannot be loaded, or fails.
  [[nodiscard]] std::optional<std::string> detect(std::string_view head);

  // libmagic's verdict alone (loading it on first use); nullopt when it is unavailable or fails.
  [[nodiscard]] std::optional<std::string> libmagic(std::string_view head);

 private:
  std::mutex mutex_;
  magic_set* cookie_ = nullptr;
  bool loadFailed_ = false;
};

}  // namespace fim::watcher
