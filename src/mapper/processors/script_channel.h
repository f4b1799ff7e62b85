#pragma once
// ScriptChannel: framed messages between fimbeat and a script worker over one end of a Unix
// socket pair. A frame is a 4-byte little-endian length, a type byte and the payload.
//   fimbeat → worker: 'P' process (the document's JSON)
//   worker → fimbeat: 'R' loaded, 'E' load error (text), 'D' done (the result's JSON)

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace fim::mapper::processors {

struct Frame {
  char type = 0;
  std::string payload;
};

class ScriptChannel {
 public:
  explicit ScriptChannel(int fd) : fd_(fd) {}

  // False when the other side is gone.
  bool send(char type, std::string_view payload) const;

  // The next frame; nullopt when the other side is gone, or (with a deadline) when it passed first.
  // `timedOut` tells the two apart.
  std::optional<Frame> receive(std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt,
                               bool* timedOut = nullptr) const;

  int fd() const { return fd_; }

 private:
  bool readExactly(char* out, std::size_t size, std::optional<std::chrono::steady_clock::time_point> deadline,
                   bool* timedOut) const;
  int fd_;
};

}  // namespace fim::mapper::processors
