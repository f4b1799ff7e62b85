#include "watcher/mime_detector.h"

#include <magic.h>


#include "watcher/mime_sniffer.h"

namespace fim::watcher {
namespace {

// No decompression (it can fork helpers) and errors reported as errors, not as a "type".
constexpr int kMagicFlags = MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS | MAGIC_ERROR;

}  // namespace

MimeDetector::~MimeDetector() {
  if (cookie_ != nullptr) ::magic_close(cookie_);
}

std::optional<std::string> MimeDetector::detect(std::string_view head) {
  if (head.size() > kHeadSize) head = head.substr(0, kHeadSize);
  if (auto sniffed = sniffMimeType(head)) return std::string(*sniffed);
  return libmagic(head);
}

std::optional<std::string> MimeDetector::libmagic(std::string_view head) {
  std::lock_guard lock(mutex_);
  if (cookie_ == nullptr && !loadFailed_) {
    magic_t cookie = ::magic_open(kMagicFlags);
    if (cookie != nullptr && ::magic_load(cookie, nullptr) == 0) {
      cookie_ = cookie;
    } else {
      if (cookie != nullptr) ::magic_close(cookie);
      loadFailed_ = true;  // no database: no MIME types from libmagic
    }
  }
  if (cookie_ == nullptr) return std::nullopt;
  if (head.size() > kHeadSize) head = head.substr(0, kHeadSize);
  const char* type = ::magic_buffer(cookie_, head.data(), head.size());
  if (type == nullptr || *type == '\0') return std::nullopt;
  return std::string(type);
}

}  // namespace fim::watcher
