#include "management/fleet/fleet_state.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <simdjson.h>

namespace fim::management::fleet {
namespace {

namespace fs = std::filesystem;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr std::size_t kDoneHistory = 256;

void str(Writer& w, const char* key, const std::string& value) {
  w.Key(key);
  w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
}

void strings(Writer& w, const char* key, const std::vector<std::string>& values) {
  w.Key(key);
  w.StartArray();
  for (const auto& v : values) w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  w.EndArray();
}

void policy(Writer& w, const char* key, const PolicyRecord& p, bool withJson) {
  w.Key(key);
  w.StartObject();
  str(w, "id", p.id);
  w.Key("revision");
  w.Int64(p.revision);
  str(w, "sha256", p.sha256);
  if (withJson && !p.json.empty()) {
    w.Key("policy");
    w.RawValue(p.json.c_str(), p.json.size(), rapidjson::kObjectType);
  }
  str(w, "status", p.status);
  str(w, "error", p.error);
  w.Key("attempts");
  w.Int(p.attempts);
  w.EndObject();
}

// A JSON value kept as text; absent when empty.
void raw(Writer& w, const char* key, const std::string& json) {
  if (json.empty()) return;
  w.Key(key);
  w.RawValue(json.c_str(), json.size(), rapidjson::kObjectType);
}

std::string rawOf(simdjson::dom::element e, const char* key) {
  simdjson::dom::element value;
  return e[key].get(value) == simdjson::SUCCESS ? simdjson::minify(value) : std::string();
}

std::string text(simdjson::dom::element e, const char* key) {
  std::string_view v;
  if (e[key].get(v) != simdjson::SUCCESS) return {};
  return std::string(v);
}

std::vector<std::string> texts(simdjson::dom::element e, const char* key) {
  std::vector<std::string> out;
  simdjson::dom::array array;
  if (e[key].get(array) != simdjson::SUCCESS) return out;
  for (auto item : array) {
    std::string_view v;
    if (item.get(v) == simdjson::SUCCESS) out.emplace_back(v);
  }
  return out;
}

std::optional<PolicyRecord> readPolicy(simdjson::dom::element e, const char* key) {
  simdjson::dom::element p;
  if (e[key].get(p) != simdjson::SUCCESS) return std::nullopt;
  PolicyRecord out;
  out.id = text(p, "id");
  int64_t revision = 0;
  if (p["revision"].get(revision) == simdjson::SUCCESS) out.revision = revision;
  out.sha256 = text(p, "sha256");
  simdjson::dom::element json;
  if (p["policy"].get(json) == simdjson::SUCCESS) out.json = simdjson::minify(json);
  out.status = text(p, "status");
  out.error = text(p, "error");
  int64_t attempts = 0;
  if (p["attempts"].get(attempts) == simdjson::SUCCESS) out.attempts = static_cast<int>(attempts);
  return out;
}

Lifecycle lifecycleOf(const std::string& name) {
  if (name == "enrolled") return Lifecycle::Enrolled;
  if (name == "unenrolled") return Lifecycle::Unenrolled;
  return Lifecycle::Enrolling;
}

core::Status ensureDirectory(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return core::fail(core::ErrorCode::Io, "cannot create " + dir + ": " + ec.message());
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return std::unexpected(core::errnoError(dir, errno));
  if (!S_ISDIR(st.st_mode)) return core::fail(core::ErrorCode::Io, dir + " is not a directory (a symlink is refused)");
  if ((st.st_mode & 07777) != 0700 && ::chmod(dir.c_str(), 0700) != 0) {
    return std::unexpected(core::errnoError("chmod 0700 " + dir, errno));
  }
  return {};
}

}  // namespace

const char* toString(Lifecycle lifecycle) {
  switch (lifecycle) {
    case Lifecycle::Enrolling: return "enrolling";
    case Lifecycle::Enrolled: return "enrolled";
    case Lifecycle::Unenrolled: return "unenrolled";
  }
  return "enrolling";
}

std::string stateDirectory(const std::string& dataDir) { return dataDir + "/fleet"; }

StateLock::StateLock(const std::string& dataDir) {
  const std::string dir = stateDirectory(dataDir);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  ::chmod(dir.c_str(), 0700);
  fd_ = ::open((dir + "/lock").c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  held_ = fd_ >= 0 && ::flock(fd_, LOCK_EX | LOCK_NB) == 0;
}

StateLock::~StateLock() {
  if (fd_ >= 0) ::close(fd_);
}

std::string stateJson(const FleetState& s, bool withSecrets) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("version");
  w.Int(kStateVersion);
  str(w, "lifecycle", toString(s.lifecycle));
  const auto& e = s.enrollment;
  w.Key("enrollment");
  w.StartObject();
  strings(w, "hosts", e.hosts);
  strings(w, "certificate_authorities", e.certificateAuthorities);
  w.Key("insecure");
  w.Bool(e.insecure);
  str(w, "proxy_url", e.proxyUrl);
  strings(w, "tags", e.tags);
  str(w, "agent_id", e.agentId);
  if (withSecrets) str(w, "replace_token", e.replaceToken);
  str(w, "token_fingerprint", e.tokenFingerprint);
  str(w, "access_api_key_id", e.accessApiKeyId);
  if (withSecrets) str(w, "access_api_key", e.accessApiKey);
  str(w, "policy_id", e.policyId);
  str(w, "enrolled_at", e.enrolledAt);
  w.EndObject();
  str(w, "ack_token", s.ackToken);
  if (withSecrets) {  // a POLICY_CHANGE in the inbox carries the output's api_key
    w.Key("inbox");
    w.StartArray();
    for (const auto& a : s.inbox) w.RawValue(a.c_str(), a.size(), rapidjson::kObjectType);
    w.EndArray();
  } else {
    w.Key("inbox_pending");
    w.Uint64(s.inbox.size());
  }
  const std::size_t from = s.done.size() > kDoneHistory ? s.done.size() - kDoneHistory : 0;
  strings(w, "done", std::vector<std::string>(s.done.begin() + static_cast<std::ptrdiff_t>(from), s.done.end()));
  w.Key("outbox");
  w.StartArray();
  for (const auto& a : s.outbox) {
    w.StartObject();
    str(w, "action_id", a.actionId);
    str(w, "type", a.type);
    str(w, "timestamp", a.timestamp);
    str(w, "error", a.error);
    if (a.type == "INPUT_ACTION") {
      str(w, "input_type", a.inputType);
      raw(w, "action_data", a.actionData);
      raw(w, "action_response", a.actionResponse);
      str(w, "started_at", a.startedAt);
      str(w, "completed_at", a.completedAt);
    }
    w.EndObject();
  }
  w.EndArray();
  // The policy carries the output's api_key: only the file (0600) holds it.
  if (s.good) policy(w, "policy_good", *s.good, withSecrets);
  if (s.last) policy(w, "policy_last", *s.last, false);
  str(w, "log_level", s.logLevel);
  strings(w, "unsupported_inputs", s.unsupportedInputs);
  w.Key("connectivity");
  w.StartObject();
  str(w, "state", s.connectivity.state);
  str(w, "last_error", s.connectivity.lastError);
  str(w, "last_checkin", s.connectivity.lastCheckin);
  w.Key("failures");
  w.Int(s.connectivity.failures);
  w.EndObject();
  str(w, "unenroll_reason", s.unenrollReason);
  w.EndObject();
  return buffer.GetString();
}

core::Result<std::optional<FleetState>> loadState(const std::string& dataDir) {
  const std::string file = stateDirectory(dataDir) + "/state.json";
  const int fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<FleetState>();
    return std::unexpected(core::errnoError("reading the Fleet state " + file, errno));
  }
  std::string data;
  char chunk[65536];
  for (ssize_t n; (n = ::read(fd, chunk, sizeof chunk)) > 0;) data.append(chunk, static_cast<std::size_t>(n));
  ::close(fd);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(data).get(root) != simdjson::SUCCESS) {
    return core::failf(core::ErrorCode::Parse,
                       "the Fleet state {} is damaged (not JSON); fimbeat will not invent a new identity: "
                       "run `fimbeat enroll --force ...` again",
                       file);
  }
  int64_t version = 0;
  if (root["version"].get(version) != simdjson::SUCCESS || version < 1 || version > kStateVersion) {
    return core::failf(core::ErrorCode::Parse, "the Fleet state {} has format version {}, this fimbeat reads {}: "
                       "use a fimbeat at least as new as the one that wrote it", file, version, kStateVersion);
  }
  FleetState s;
  s.lifecycle = lifecycleOf(text(root, "lifecycle"));
  simdjson::dom::element e;
  if (root["enrollment"].get(e) == simdjson::SUCCESS) {
    auto& en = s.enrollment;
    en.hosts = texts(e, "hosts");
    en.certificateAuthorities = texts(e, "certificate_authorities");
    bool insecure = false;
    if (e["insecure"].get(insecure) == simdjson::SUCCESS) en.insecure = insecure;
    en.proxyUrl = text(e, "proxy_url");
    en.tags = texts(e, "tags");
    en.agentId = text(e, "agent_id");
    en.replaceToken = text(e, "replace_token");
    en.tokenFingerprint = text(e, "token_fingerprint");
    en.accessApiKeyId = text(e, "access_api_key_id");
    en.accessApiKey = text(e, "access_api_key");
    en.policyId = text(e, "policy_id");
    en.enrolledAt = text(e, "enrolled_at");
  }
  s.ackToken = text(root, "ack_token");
  simdjson::dom::array inbox;
  if (root["inbox"].get(inbox) == simdjson::SUCCESS) {
    for (auto a : inbox) s.inbox.push_back(simdjson::minify(a));
  }
  s.done = texts(root, "done");
  simdjson::dom::array outbox;
  if (root["outbox"].get(outbox) == simdjson::SUCCESS) {
    for (auto a : outbox) {
      s.outbox.push_back({text(a, "action_id"), text(a, "type"), text(a, "timestamp"), text(a, "error"),
                          text(a, "input_type"), rawOf(a, "action_data"), rawOf(a, "action_response"),
                          text(a, "started_at"), text(a, "completed_at")});
    }
  }
  s.good = readPolicy(root, "policy_good");
  s.last = readPolicy(root, "policy_last");
  s.logLevel = text(root, "log_level");
  s.unsupportedInputs = texts(root, "unsupported_inputs");
  simdjson::dom::element c;
  if (root["connectivity"].get(c) == simdjson::SUCCESS) {
    s.connectivity.state = text(c, "state");
    s.connectivity.lastError = text(c, "last_error");
    s.connectivity.lastCheckin = text(c, "last_checkin");
    int64_t failures = 0;
    if (c["failures"].get(failures) == simdjson::SUCCESS) s.connectivity.failures = static_cast<int>(failures);
  }
  s.unenrollReason = text(root, "unenroll_reason");
  return std::optional<FleetState>(std::move(s));
}

core::Status saveState(const std::string& dataDir, const FleetState& state) {
  const std::string dir = stateDirectory(dataDir);
  if (auto ok = ensureDirectory(dir); !ok) return ok;
  const std::string file = dir + "/state.json";
  const std::string temp = file + ".tmp";
  const std::string data = stateJson(state, true);
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return std::unexpected(core::errnoError("writing the Fleet state " + temp, errno));
  std::size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return std::unexpected(core::errnoError("writing the Fleet state " + temp, err));
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fchmod(fd, 0600) != 0 || ::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    return std::unexpected(core::errnoError("syncing the Fleet state " + temp, err));
  }
  ::close(fd);
  if (::rename(temp.c_str(), file.c_str()) != 0) return std::unexpected(core::errnoError("renaming " + temp, errno));
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

core::Status removeState(const std::string& dataDir) {
  std::error_code ec;
  fs::remove(stateDirectory(dataDir) + "/state.json", ec);
  if (ec) return core::fail(core::ErrorCode::Io, "removing the Fleet state: " + ec.message());
  return {};
}

}  // namespace fim::management::fleet
