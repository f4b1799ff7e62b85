#pragma once
// Keystore: secrets that ${NAME} in the configuration resolves before the environment, kept in
// <path.data>/fimbeat.keystore (mode 0600) in the file format of Beats' keystore (see
// keystore_format.h). As in Beats, the password is empty: the file's mode protects the secrets,
// the encryption keeps them out of backups and greps.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/expand.h"
#include "core/result.h"

namespace fim::management {

class Keystore {
 public:
  static constexpr std::string_view kFileName = "fimbeat.keystore";
  static std::string pathIn(const std::string& dataDir) { return dataDir + "/" + std::string(kFileName); }

  // Reads the keystore at `path`. A missing file is an empty keystore for which exists() is
  // false; a file that is not 0600, not owned by root or us, another version, damaged or sealed
  // with another password is an error that says which.
  [[nodiscard]] static core::Result<Keystore> open(std::string path);
  // An empty keystore at `path`, written by save() (keystore create).
  static Keystore empty(std::string path) { return Keystore(std::move(path), {}, false); }

  Keystore(Keystore&& other) noexcept = default;
  Keystore& operator=(Keystore&& other) noexcept = default;
  ~Keystore();  // wipes the secrets from memory

  bool exists() const { return exists_; }
  const std::string& path() const { return path_; }
  std::optional<std::string> get(std::string_view name) const;
  bool contains(std::string_view name) const { return secrets_.contains(name); }
  std::vector<std::string> names() const;  // sorted
  void set(const std::string& name, std::string value);
  bool remove(std::string_view name);  // false when there was no such name

  // Writes the keystore whole (temporary file, fsync, rename) with mode 0600; path.data is created
  // with mode 0700 when missing.
  [[nodiscard]] core::Status save();

 private:
  Keystore(std::string path, std::map<std::string, std::string, std::less<>> secrets, bool exists)
      : path_(std::move(path)), secrets_(std::move(secrets)), exists_(exists) {}

  std::string path_;
  std::map<std::string, std::string, std::less<>> secrets_;
  bool exists_ = false;
};

// Names a keystore accepts: what ${NAME} can refer to (letters, digits, '_', '.', '-'), 1..256 bytes.
bool isValidKeystoreName(std::string_view name);

// The config loader's keystore (config::LoadOptions::keystore): the keystore in `dataDir`, or a
// lookup that finds nothing when there is no keystore file.
[[nodiscard]] core::Result<config::Lookup> keystoreLookup(const std::string& dataDir);

}  // namespace fim::management
