#include "management/monitoring_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <fmt/format.h>
#include <httplib.h>

#include "core/logging.h"
#include "management/monitoring_documents.h"
#include "management/prometheus.h"

namespace fim::management {
namespace {

constexpr const char* kJson = "application/json; charset=utf-8";
constexpr const char* kPrometheus = "text/plain; version=0.0.4; charset=utf-8";
constexpr std::string_view kUnixScheme = "unix://";
constexpr std::size_t kWorkers = 2;  // a scrape or two at a time; more would only idle

std::string describe(const sockaddr_storage& addr) {
  char host[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(addr);
    ::inet_ntop(AF_INET, &in.sin_addr, host, sizeof host);
    return fmt::format("{}:{}", host, ntohs(in.sin_port));
  }
  const auto& in6 = reinterpret_cast<const sockaddr_in6&>(addr);
  ::inet_ntop(AF_INET6, &in6.sin6_addr, host, sizeof host);
  return fmt::format("[{}]:{}", host, ntohs(in6.sin6_port));
}

// A unix socket left by an agent that died is replaced; anything else at the path is an error.
core::Status clearSocketPath(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return {};
  if (!S_ISSOCK(st.st_mode)) {
    return core::failf(core::ErrorCode::InvalidArgument, "http.host: {} exists and is not a socket: remove it or "
                       "choose another path", path);
  }
  const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const bool live = probe >= 0 && ::connect(probe, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  if (probe >= 0) ::close(probe);
  if (live) {
    return core::failf(core::ErrorCode::Unavailable, "http.host: another process is listening on {} (another "
                       "fimbeat?): stop it or choose another path", path);
  }
  ::unlink(path.c_str());
  return {};
}

core::Result<int> bindUnixSocket(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) {
    return core::failf(core::ErrorCode::InvalidArgument, "http.host: the socket path {} is longer than {} bytes", path,
                       sizeof addr.sun_path - 1);
  }
  if (auto cleared = clearSocketPath(path); !cleared) return std::unexpected(cleared.error());
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::unexpected(core::errnoError("http.host: creating a unix socket", errno));
  // The socket file is created by bind() with 0777 & ~umask; no other thread runs yet.
  const mode_t previous = ::umask(0177);
  const bool bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  const int err = errno;
  ::umask(previous);
  if (!bound || ::listen(fd, SOMAXCONN) != 0) {
    const int why = bound ? errno : err;
    ::close(fd);
    return std::unexpected(core::errnoError("http.host: cannot listen on unix socket " + path, why));
  }
  return fd;
}

}  // namespace

// httplib 0.11 (Debian 12) binds only TCP sockets; its listening socket is a protected member,
// so a unix socket bound here is handed to it, and closing it is done here too (httplib's
// stop() does nothing before its accept loop has started).
class MonitoringServer::Listener : public httplib::Server {
 public:
  void adopt(int fd) { svr_sock_ = fd; }
  int socket() const { return svr_sock_; }
  void close() {
    const int fd = svr_sock_.exchange(INVALID_SOCKET);
    if (fd == INVALID_SOCKET) return;
    ::shutdown(fd, SHUT_RDWR);
    ::close(fd);
  }
};

MonitoringServer::MonitoringServer(const BeatStats& stats, const core::Health& health)
    : stats_(stats), health_(health), listener_(std::make_unique<Listener>()) {}

MonitoringServer::~MonitoringServer() { stop(); }

core::Result<std::unique_ptr<MonitoringServer>> MonitoringServer::start(const config::HttpConfig& config,
                                                                      const BeatStats& stats,
                                                                      const core::Health& health) {
  auto server = std::unique_ptr<MonitoringServer>(new MonitoringServer(stats, health));
  server->route();
  if (auto bound = server->bind(config); !bound) return std::unexpected(bound.error());
  server->thread_ = std::jthread([listener = server->listener_.get()] { listener->listen_after_bind(); });
  core::logger("monitoring").info("Metrics endpoint listening on: {} (configured: {})", server->address_,
                                  config.host.starts_with(kUnixScheme) ? config.host
                                                                       : config.host + ":" + std::to_string(config.port));
  return server;
}

core::Status MonitoringServer::bind(const config::HttpConfig& config) {
  if (config.host.starts_with(kUnixScheme)) {
    socketPath_ = config.host.substr(kUnixScheme.size());
    auto fd = bindUnixSocket(socketPath_);
    if (!fd) {
      socketPath_.clear();
      return std::unexpected(fd.error());
    }
    listener_->adopt(*fd);
    address_ = socketPath_;
    return {};
  }
  // "localhost" is 127.0.0.1, as for Beats (Go resolves it to IPv4 first); other names as they resolve.
  if (config.host == "localhost") listener_->set_address_family(AF_INET);
  if (!listener_->bind_to_port(config.host, config.port)) {
    const int err = errno;
    return std::unexpected(core::errnoError(
        "cannot listen on http.host " + config.host + " http.port " + std::to_string(config.port) +
            (err == EADDRINUSE ? " (another process, perhaps another fimbeat or a Beat, uses the port: stop it or set "
                                 "http.port)"
                               : ""),
        err));
  }
  sockaddr_storage addr{};
  socklen_t length = sizeof addr;
  if (::getsockname(listener_->socket(), reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    return std::unexpected(core::errnoError("reading the monitoring endpoint's address", errno));
  }
  address_ = describe(addr);
  return {};
}

void MonitoringServer::route() {
  auto& s = *listener_;
  s.new_task_queue = [] { return new httplib::ThreadPool(kWorkers); };
  // httplib's default also sets SO_REUSEPORT, with which a second agent would share the port
  // silently; SO_REUSEADDR alone still lets a restart bind while old connections linger.
  s.set_socket_options([](socket_t sock) {
    const int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  s.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    if (req.method == "GET" || req.method == "HEAD") return httplib::Server::HandlerResponse::Unhandled;
    res.status = 405;
    res.set_header("Allow", "GET, HEAD");
    res.set_content(R"({"error":"method not allowed: the monitoring endpoint answers GET only"})", kJson);
    return httplib::Server::HandlerResponse::Handled;
  });
  s.Get("/", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(infoDocument(stats_.info()), kJson);
  });
  s.Get("/stats", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(statsJson(stats_.collect()), kJson);
  });
  s.Get("/state", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(stateDocument(stats_.info(), stats_.modulesRunning()), kJson);
  });
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    const auto started = std::chrono::system_clock::now() - (std::chrono::steady_clock::now() - stats_.info().started);
    const double startSeconds = std::chrono::duration<double>(started.time_since_epoch()).count();
    res.set_content(prometheusText(stats_.metrics().samples(), sampleProcess(), startSeconds), kPrometheus);
  });
  s.Get("/health", [this](const httplib::Request& req, httplib::Response& res) {
    auto health = healthDocument(health_, req.get_param_value("failon") == "failed");
    res.status = health.status;
    res.set_content(health.body, kJson);
  });
}

void MonitoringServer::stop() {
  listener_->close();
  if (thread_.joinable()) thread_.join();
  if (!socketPath_.empty()) {
    ::unlink(socketPath_.c_str());
    socketPath_.clear();
  }
}

}  // namespace fim::management
