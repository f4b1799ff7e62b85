#include "management/control_protocol.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <simdjson.h>

namespace fim::management {
namespace {

using core::ErrorCode;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr std::size_t kMaxAnswerBytes = 4 << 20;
constexpr timeval kTimeout{10, 0};  // the agent answers at once; a hung one must not hang the command

void string(Writer& w, std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }

const char* commandName(ControlRequest::Kind kind) {
  switch (kind) {
    case ControlRequest::Kind::Approve: return "approve";
    case ControlRequest::Kind::List: return "list";
    case ControlRequest::Kind::Revoke: return "revoke";
  }
  return "";
}

}  // namespace

std::string encodeRequest(const ControlRequest& request) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("version");
  w.Uint(kControlVersion);
  w.Key("command");
  w.String(commandName(request.kind));
  if (request.kind == ControlRequest::Kind::Approve) {
    w.Key("paths");
    w.StartArray();
    for (const auto& p : request.paths) string(w, p);
    w.EndArray();
    w.Key("for_ms");
    w.Int64(request.duration.count());
    w.Key("reason");
    string(w, request.reason);
  }
  if (request.kind == ControlRequest::Kind::Revoke) {
    w.Key("id");
    string(w, request.id);
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

core::Result<ControlRequest> decodeRequest(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json.data(), json.size()).get(doc) != simdjson::SUCCESS) {
    return core::fail(ErrorCode::Parse, "the request is not JSON");
  }
  std::uint64_t version = 0;
  if (doc["version"].get_uint64().get(version) != simdjson::SUCCESS || version != kControlVersion) {
    return core::failf(ErrorCode::Parse, "the request is not of version {} of the control protocol", kControlVersion);
  }
  std::string_view command;
  if (doc["command"].get_string().get(command) != simdjson::SUCCESS) {
    return core::fail(ErrorCode::Parse, "the request has no \"command\"");
  }
  ControlRequest request;
  if (command == "list") {
    request.kind = ControlRequest::Kind::List;
  } else if (command == "revoke") {
    request.kind = ControlRequest::Kind::Revoke;
    std::string_view id;
    if (doc["id"].get_string().get(id) != simdjson::SUCCESS) return core::fail(ErrorCode::Parse, "revoke needs an \"id\"");
    request.id = id;
  } else if (command == "approve") {
    request.kind = ControlRequest::Kind::Approve;
    simdjson::dom::array paths;
    std::int64_t ms = 0;
    std::string_view reason;
    if (doc["paths"].get_array().get(paths) != simdjson::SUCCESS || doc["for_ms"].get_int64().get(ms) != simdjson::SUCCESS ||
        doc["reason"].get_string().get(reason) != simdjson::SUCCESS) {
      return core::fail(ErrorCode::Parse, "approve needs \"paths\", \"for_ms\" and \"reason\"");
    }
    for (auto p : paths) {
      std::string_view text;
      if (p.get_string().get(text) != simdjson::SUCCESS) return core::fail(ErrorCode::Parse, "\"paths\" holds a non-string");
      request.paths.emplace_back(text);
    }
    request.duration = std::chrono::milliseconds(ms);
    request.reason = reason;
  } else {
    return core::failf(ErrorCode::Parse, "unknown command \"{}\" (approve, list, revoke)", command);
  }
  return request;
}

std::string encodeError(std::string_view message) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("error");
  string(w, message);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

core::Result<std::vector<Approval>> decodeAnswer(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json.data(), json.size()).get(doc) != simdjson::SUCCESS) {
    return core::fail(ErrorCode::Parse, "the agent's answer is not JSON");
  }
  std::string_view error;
  if (doc["error"].get_string().get(error) == simdjson::SUCCESS) return core::fail(ErrorCode::InvalidArgument, std::string(error));
  auto approvals = decodeApprovals(json);
  if (!approvals) return std::unexpected(approvals.error().context("the agent's answer"));
  return approvals;
}

core::Result<std::string> exchange(const std::string& socketPath, std::string_view request) {
  sockaddr_un addr{};
  if (socketPath.size() >= sizeof addr.sun_path) {
    return core::failf(ErrorCode::InvalidArgument, "the control socket path {} is longer than {} bytes", socketPath,
                       sizeof addr.sun_path - 1);
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socketPath.c_str(), socketPath.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::unexpected(core::errnoError("creating a unix socket", errno));
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &kTimeout, sizeof kTimeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &kTimeout, sizeof kTimeout);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == ENOENT || err == ECONNREFUSED) {
      return core::failf(ErrorCode::Unavailable, "no agent listens on {}", socketPath);
    }
    return std::unexpected(core::errnoError("connecting to " + socketPath, err));
  }
  std::string line(request);
  line.push_back('\n');
  std::string_view rest = line;
  while (!rest.empty()) {
    const ssize_t n = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return std::unexpected(core::errnoError("sending to " + socketPath, err));
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  std::string answer;
  char buffer[4096];
  while (answer.size() <= kMaxAnswerBytes) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return std::unexpected(core::errnoError("reading the agent's answer from " + socketPath, err));
    }
    if (n == 0) break;
    answer.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  while (!answer.empty() && answer.back() == '\n') answer.pop_back();
  if (answer.empty()) return core::failf(ErrorCode::Unavailable, "the agent on {} closed the connection without an answer", socketPath);
  return answer;
}

}  // namespace fim::management
