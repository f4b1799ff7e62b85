#include "enricher/agent_id.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <filesystem>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <simdjson.h>

#include "core/logging.h"
#include "core/time_format.h"

namespace fim::enricher {
namespace {

constexpr const char* kMetaFile = "meta.json";
constexpr mode_t kFileMode = 0600;
constexpr mode_t kDirMode = 0750;
constexpr std::size_t kMaxMetaFile = 64 * 1024;

core::Status ensureDirectory(const std::filesystem::path& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return {};
    return std::unexpected(core::errnoError("creating data directory " + dir.string(), ENOTDIR));
  }
  const std::filesystem::path parent = dir.parent_path();
  if (!parent.empty() && parent != dir) {
    if (auto status = ensureDirectory(parent); !status) return status;
  }
  if (::mkdir(dir.c_str(), kDirMode) != 0 && errno != EEXIST) {
    return std::unexpected(core::errnoError("creating data directory " + dir.string(), errno));
  }
  return {};
}

core::Status writeAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::unexpected(core::errnoError("writing " + path, errno));
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

// nullopt: no such file; "" is a legitimate (corrupt) empty file.
core::Result<std::optional<std::string>> readMeta(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    if (errno == ELOOP) return core::fail(core::ErrorCode::PermissionDenied, path + " is a symlink; refusing to follow it: remove it");
    return std::unexpected(core::errnoError("opening " + path, errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return core::fail(core::ErrorCode::InvalidArgument, path + " is not a regular file: remove it");
  }
  std::string text;
  char buffer[4096];
  ssize_t n = 0;
  while (text.size() <= kMaxMetaFile && (n = ::read(fd, buffer, sizeof buffer)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return std::unexpected(core::errnoError("reading " + path, err));
    }
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return std::optional<std::string>(std::move(text));
}

// The uuid of a meta.json text, or "" when the text is not such a document.
std::string uuidOf(const std::string& text) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(text).get(doc) != simdjson::SUCCESS) return {};
  std::string_view uuid;
  if (doc["uuid"].get_string().get(uuid) != simdjson::SUCCESS) return {};
  return isUuid(uuid) ? std::string(uuid) : std::string();
}

core::Status writeMeta(const std::filesystem::path& dir, const std::string& uuid, const core::Clock& clock) {
  rapidjson::StringBuffer json;
  rapidjson::Writer<rapidjson::StringBuffer> w(json);
  w.StartObject();
  w.Key("uuid");
  w.String(uuid.c_str(), static_cast<rapidjson::SizeType>(uuid.size()));
  const std::string firstStart = core::formatTimestamp(clock.now());
  w.Key("first_start");
  w.String(firstStart.c_str(), static_cast<rapidjson::SizeType>(firstStart.size()));
  w.EndObject();
  const std::string finalPath = (dir / kMetaFile).string();
  const std::string tmpPath = finalPath + ".tmp";
  ::unlink(tmpPath.c_str());  // a leftover of a crash between create and rename
  const int fd = ::open(tmpPath.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, kFileMode);
  if (fd < 0) return std::unexpected(core::errnoError("creating " + tmpPath, errno));
  core::Status status = writeAll(fd, std::string_view(json.GetString(), json.GetSize()), tmpPath);
  if (status && ::fchmod(fd, kFileMode) != 0) status = std::unexpected(core::errnoError("setting the mode of " + tmpPath, errno));
  if (status && ::fsync(fd) != 0) status = std::unexpected(core::errnoError("syncing " + tmpPath, errno));
  ::close(fd);
  if (status && ::rename(tmpPath.c_str(), finalPath.c_str()) != 0) {
    status = std::unexpected(core::errnoError("renaming " + tmpPath + " to " + finalPath, errno));
  }
  if (!status) {
    ::unlink(tmpPath.c_str());
    return status;
  }
  if (const int dirFd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dirFd >= 0) {
    ::fsync(dirFd);  // the rename itself; a failure here leaves a valid file either way
    ::close(dirFd);
  }
  return {};
}

}  // namespace

core::Result<std::string> newUuidV4() {
  std::array<unsigned char, 16> bytes{};
  std::size_t filled = 0;
  while (filled < bytes.size()) {
    const ssize_t n = ::getrandom(bytes.data() + filled, bytes.size() - filled, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::unexpected(core::errnoError("reading random bytes for a UUID", errno));
    filled += static_cast<std::size_t>(n);
  }
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0x0f]);
  }
  return out;
}

bool isUuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !std::isxdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

core::Result<AgentIdentity> loadOrCreateAgentId(const std::string& dataDir, const core::Clock& clock) {
  const std::filesystem::path dir(dataDir.empty() ? "." : dataDir);
  if (auto status = ensureDirectory(dir); !status) return std::unexpected(status.error());
  const std::string path = (dir / kMetaFile).string();
  auto text = readMeta(path);
  if (!text) return std::unexpected(text.error());
  AgentIdentity identity;
  if (text->has_value()) {
    identity.id = uuidOf(**text);
    if (!identity.id.empty()) return identity;
    core::logger("enricher").warn("{} holds no valid agent id (uuid); replacing it with a new one, so agent.id changes", path);
    identity.replacedCorrupt = true;
  } else {
    identity.created = true;
  }
  auto uuid = newUuidV4();
  if (!uuid) return std::unexpected(uuid.error());
  if (auto status = writeMeta(dir, *uuid, clock); !status) return std::unexpected(status.error().context("saving the agent id"));
  identity.id = std::move(*uuid);
  return identity;
}

}  // namespace fim::enricher
