#include "mapper/processors/script_channel.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

namespace fim::mapper::processors {
namespace {

constexpr std::size_t kMaxFrame = 256u << 20;  // far above any document; a corrupt length fails

}  // namespace

bool ScriptChannel::send(char type, std::string_view payload) const {
  if (payload.size() > kMaxFrame) return false;
  const auto size = static_cast<std::uint32_t>(payload.size());
  char header[5] = {static_cast<char>(size & 0xff), static_cast<char>((size >> 8) & 0xff),
                    static_cast<char>((size >> 16) & 0xff), static_cast<char>((size >> 24) & 0xff), type};
  const auto all = [this](const char* data, std::size_t left) {
    while (left > 0) {
      const ssize_t n = ::send(fd_, data, left, MSG_NOSIGNAL);  // a dead peer is an error, not SIGPIPE
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data += n;
      left -= static_cast<std::size_t>(n);
    }
    return true;
  };
  return all(header, sizeof header) && all(payload.data(), payload.size());
}

bool ScriptChannel::readExactly(char* out, std::size_t size, std::optional<std::chrono::steady_clock::time_point> deadline,
                                bool* timedOut) const {
  while (size > 0) {
    if (deadline) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - std::chrono::steady_clock::now());
      pollfd p{fd_, POLLIN, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(0, left.count() + 1)));
      if (ready < 0 && errno == EINTR) continue;
      if (ready == 0) {
        if (timedOut) *timedOut = true;
        return false;
      }
      if (ready < 0) return false;
    }
    const ssize_t n = ::read(fd_, out, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    out += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

std::optional<Frame> ScriptChannel::receive(std::optional<std::chrono::steady_clock::time_point> deadline, bool* timedOut) const {
  if (timedOut) *timedOut = false;
  unsigned char header[5];
  if (!readExactly(reinterpret_cast<char*>(header), sizeof header, deadline, timedOut)) return std::nullopt;
  const std::size_t size = header[0] | (header[1] << 8) | (header[2] << 16) | (static_cast<std::size_t>(header[3]) << 24);
  if (size > kMaxFrame) return std::nullopt;
  Frame frame{static_cast<char>(header[4]), std::string(size, '\0')};
  if (!readExactly(frame.payload.data(), size, deadline, timedOut)) return std::nullopt;
  return frame;
}

}  // namespace fim::mapper::processors
