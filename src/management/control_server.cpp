#include "management/control_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include <fmt/format.h>

#include "core/logging.h"
#include "management/approval_command.h"
#include "management/control_protocol.h"

namespace fim::management {
namespace {

constexpr std::size_t kMaxRequestBytes = 64 * 1024;
constexpr timeval kTimeout{2, 0};  // a client that sends nothing must not hold the socket

// A socket left by an agent that died is replaced; anything else at the path is an error.
core::Status clearSocketPath(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return {};
  if (!S_ISSOCK(st.st_mode)) {
    return core::failf(core::ErrorCode::InvalidArgument, "{} exists and is not a socket: remove it", path);
  }
  ::unlink(path.c_str());  // the approvals lock, held by the caller, says no other agent serves it
  return {};
}

core::Result<int> listenOn(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) {
    return core::failf(core::ErrorCode::InvalidArgument,
                       "the control socket path {} is longer than {} bytes: choose a shorter path.data", path,
                       sizeof addr.sun_path - 1);
  }
  if (auto cleared = clearSocketPath(path); !cleared) return std::unexpected(cleared.error());
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return std::unexpected(core::errnoError("creating the control socket", errno));
  // bind() creates the file with the socket inode's mode less the umask: 0600 from the start.
  ::fchmod(fd, 0600);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 || ::chmod(path.c_str(), 0600) != 0 ||
      ::listen(fd, 16) != 0) {
    const int err = errno;
    ::close(fd);
    return std::unexpected(core::errnoError("cannot listen on the control socket " + path, err));
  }
  return fd;
}

bool sendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// One line (without its '\n'); nullopt when the client sent none in time or too much.
std::optional<std::string> readLine(int fd) {
  std::string line;
  char buffer[4096];
  while (line.size() <= kMaxRequestBytes) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n == 0 && !line.empty() ? std::optional(line) : std::nullopt;
    line.append(buffer, static_cast<std::size_t>(n));
    if (const auto end = line.find('\n'); end != std::string::npos) {
      line.resize(end);
      return line;
    }
  }
  return std::nullopt;
}

}  // namespace

ControlServer::ControlServer(std::string socketPath, ApprovalStore& approvals, int listener, int wake)
    : socketPath_(std::move(socketPath)), approvals_(approvals), listener_(listener), wake_(wake) {}

core::Result<std::unique_ptr<ControlServer>> ControlServer::start(const std::string& socketPath,
                                                                 ApprovalStore& approvals) {
  auto listener = listenOn(socketPath);
  if (!listener) return std::unexpected(listener.error());
  const int wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) {
    const int err = errno;
    ::close(*listener);
    ::unlink(socketPath.c_str());
    return std::unexpected(core::errnoError("creating an eventfd for the control socket", err));
  }
  auto server = std::unique_ptr<ControlServer>(new ControlServer(socketPath, approvals, *listener, wake));
  server->thread_ = std::jthread([s = server.get()](std::stop_token stop) { s->serve(stop); });
  core::logger("control").info("control socket listening on {} (root only)", socketPath);
  return server;
}

ControlServer::~ControlServer() { stop(); }

void ControlServer::stop() {
  if (listener_ < 0) return;
  thread_.request_stop();
  const std::uint64_t one = 1;
  (void)::write(wake_, &one, sizeof one);
  if (thread_.joinable()) thread_.join();
  ::close(listener_);
  ::close(wake_);
  listener_ = wake_ = -1;
  ::unlink(socketPath_.c_str());
}

void ControlServer::serve(std::stop_token stop) {
  while (!stop.stop_requested()) {
    pollfd fds[2] = {{listener_, POLLIN, 0}, {wake_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      core::logger("control").error("the control socket stopped: {}", std::strerror(errno));
      return;
    }
    if (fds[1].revents != 0) return;
    const int connection = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (connection < 0) continue;  // EAGAIN, or a client that gave up before it was accepted
    try {
      answer(connection);
    } catch (const std::exception& e) {
      core::logger("control").error("answering a control request failed: {}", e.what());
    }
    ::close(connection);
  }
}

void ControlServer::answer(int connection) {
  ::setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &kTimeout, sizeof kTimeout);
  ::setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &kTimeout, sizeof kTimeout);
  ucred peer{};
  socklen_t length = sizeof peer;
  if (::getsockopt(connection, SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0 || peer.uid != 0) {
    core::logger("control").warn("refused a control request from uid {} (pid {}): the control socket answers root only",
                                 peer.uid, peer.pid);
    (void)sendAll(connection, encodeError("refused: fimbeat's control socket answers root only") + "\n");
    return;
  }
  auto request = readLine(connection);
  if (!request) return;
  (void)sendAll(connection, handle(*request) + "\n");
}

std::string ControlServer::handle(std::string_view text) {
  auto request = decodeRequest(text);
  if (!request) return encodeError(request.error().message());
  auto approvals = carryOut(approvals_, *request);
  return approvals ? encodeApprovals(*approvals) : encodeError(approvals.error().message());
}

}  // namespace fim::management
