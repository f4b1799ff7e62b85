#pragma once
// The keystore file's format, Beats' version "v1": the bytes "v1", then the standard base64 of
// salt (64 bytes) | IV (12 bytes) | AES-256-GCM ciphertext and its 16-byte tag, without
// additional data. The key is PBKDF2-HMAC-SHA512 of the password and the salt, 10,000 rounds,
// 32 bytes. The plaintext is a JSON object {"NAME":{"value":"<base64 of the secret>"}}.
// (libbeat/keystore/file_keystore.go: encrypt, decrypt, hashPassword.)

#include <map>
#include <string>
#include <string_view>

#include "core/result.h"

namespace fim::management {

inline constexpr std::string_view kKeystoreVersion = "v1";

// The file's bytes for `plaintext`, sealed with a fresh random salt and IV.
[[nodiscard]] core::Result<std::string> sealKeystore(std::string_view plaintext, std::string_view password);

// The plaintext of a keystore file. The error says what is wrong: another version, a file too
// short or not base64 (corrupt), or a tag that does not match (corrupt, or another password).
[[nodiscard]] core::Result<std::string> unsealKeystore(std::string_view file, std::string_view password);

// The JSON plaintext for `secrets` (keys sorted, as Go's encoder writes a map, ending in "\n").
std::string encodeSecrets(const std::map<std::string, std::string, std::less<>>& secrets);
[[nodiscard]] core::Result<std::map<std::string, std::string, std::less<>>> decodeSecrets(std::string_view json);

}  // namespace fim::management
