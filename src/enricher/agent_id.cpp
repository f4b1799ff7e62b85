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
#include "core/private_file.h"
#include "core/time_format.h"

namespace fim::enricher {
namespace {

constexpr const char* kMetaFile = "meta.json";
constexpr mode_t kFileMode = 0600;
constexpr mode_t kDirMode = 0750;
constexpr std::size_t kMaxMetaFile = 64 * 1024;

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
  return core::writePrivateFile((dir / kMetaFile).string(), std::string_view(json.GetString(), json.GetSize()),
                                kFileMode);
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
  if (auto status = core::ensureDirectory(dir.string(), kDirMode); !status) {
    return std::unexpected(status.error().context("the data directory"));
  }
  const std::string path = (dir / kMetaFile).string();
  auto text = core::readPrivateFile(path, kMaxMetaFile);  // nullopt: none; "" is a (corrupt) empty file
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
