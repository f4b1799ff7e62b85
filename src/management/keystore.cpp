#include "management/keystore.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

#include <openssl/crypto.h>

#include "core/private_file.h"
#include "management/keystore_format.h"

namespace fim::management {
namespace {

constexpr mode_t kFileMode = 0600;
constexpr mode_t kDirMode = 0700;
constexpr std::size_t kMaxFile = 16 * 1024 * 1024;
constexpr std::string_view kPassword = "";  // Beats' keystore has no user password either
constexpr std::size_t kMaxName = 256;

void wipe(std::string& secret) { OPENSSL_cleanse(secret.data(), secret.size()); }

// As Beats: owned by root or by us, and mode exactly 0600.
core::Status checkPermissions(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return std::unexpected(core::errnoError("keystore " + path, errno));
  if (st.st_uid != 0 && st.st_uid != ::geteuid()) {
    return core::failf(core::ErrorCode::PermissionDenied,
                       "the keystore {} must be owned by root or by the user running fimbeat (uid {}), not uid {}",
                       path, ::geteuid(), st.st_uid);
  }
  if ((st.st_mode & 07777) != kFileMode) {
    return core::failf(core::ErrorCode::PermissionDenied,
                       "the keystore {} can only be readable and writable by its owner, but its mode is {:04o}: run "
                       "`chmod 0600 {}`",
                       path, st.st_mode & 07777, path);
  }
  return {};
}

}  // namespace

bool isValidKeystoreName(std::string_view name) {
  if (name.empty() || name.size() > kMaxName) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

core::Result<Keystore> Keystore::open(std::string path) {
  auto file = core::readPrivateFile(path, kMaxFile);
  if (!file) return std::unexpected(file.error().context("reading the keystore"));
  if (!*file) return Keystore(std::move(path), {}, false);
  if (auto perms = checkPermissions(path); !perms) return std::unexpected(perms.error());
  auto plain = unsealKeystore(**file, kPassword);
  if (!plain) return std::unexpected(plain.error().context("keystore " + path));
  auto secrets = decodeSecrets(*plain);
  wipe(*plain);
  if (!secrets) return std::unexpected(secrets.error().context("keystore " + path));
  return Keystore(std::move(path), std::move(*secrets), true);
}

Keystore::~Keystore() {
  for (auto& [name, value] : secrets_) wipe(value);
}

std::optional<std::string> Keystore::get(std::string_view name) const {
  auto it = secrets_.find(name);
  if (it == secrets_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> Keystore::names() const {
  std::vector<std::string> out;
  for (const auto& [name, value] : secrets_) out.push_back(name);
  return out;
}

void Keystore::set(const std::string& name, std::string value) {
  auto& slot = secrets_[name];
  wipe(slot);
  slot = std::move(value);
}

bool Keystore::remove(std::string_view name) {
  auto it = secrets_.find(name);
  if (it == secrets_.end()) return false;
  wipe(it->second);
  secrets_.erase(it);
  return true;
}

core::Status Keystore::save() {
  const std::string dir = std::filesystem::path(path_).parent_path().string();
  if (auto made = core::ensureDirectory(dir, kDirMode); !made) return made;
  std::string plain = encodeSecrets(secrets_);
  auto sealed = sealKeystore(plain, kPassword);
  wipe(plain);
  if (!sealed) return std::unexpected(sealed.error());
  if (auto written = core::writePrivateFile(path_, *sealed, kFileMode); !written) {
    return std::unexpected(written.error().context("saving the keystore"));
  }
  exists_ = true;
  return {};
}

core::Result<config::Lookup> keystoreLookup(const std::string& dataDir) {
  auto keystore = Keystore::open(Keystore::pathIn(dataDir));
  if (!keystore) return std::unexpected(keystore.error());
  auto shared = std::make_shared<const Keystore>(std::move(*keystore));
  return config::Lookup([shared](std::string_view name) { return shared->get(name); });
}

}  // namespace fim::management
