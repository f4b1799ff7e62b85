#include "management/keystore_format.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <memory>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <simdjson.h>

#include "core/base64.h"

namespace fim::management {
namespace {

constexpr std::size_t kSaltLength = 64;
constexpr std::size_t kIvLength = 12;
constexpr std::size_t kTagLength = 16;
constexpr int kIterations = 10000;
constexpr std::size_t kKeyLength = 32;

using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;
using Key = std::array<unsigned char, kKeyLength>;

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
unsigned char* bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

core::Result<Key> deriveKey(std::string_view password, std::string_view salt) {
  Key key{};
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), bytes(salt), static_cast<int>(salt.size()),
                        kIterations, EVP_sha512(), static_cast<int>(key.size()), key.data()) != 1) {
    return core::fail(core::ErrorCode::Internal, "deriving the keystore's key failed (OpenSSL PBKDF2)");
  }
  return key;
}

core::Status cryptoFailure(const char* what) {
  return core::failf(core::ErrorCode::Internal, "{} the keystore failed (OpenSSL AES-256-GCM)", what);
}

// AES-256-GCM of `in` (the 12-byte IV given), ciphertext then tag.
core::Result<std::string> encrypt(const Key& key, std::string_view iv, std::string_view in) {
  CipherContext ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  std::string out(in.size() + kTagLength, '\0');
  int n = 0, last = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), bytes(iv)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), bytes(out), &n, bytes(in), static_cast<int>(in.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), bytes(out) + n, &last) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagLength, bytes(out) + in.size()) != 1) {
    return std::unexpected(cryptoFailure("encrypting").error());
  }
  return out;
}

core::Result<std::string> decrypt(const Key& key, std::string_view iv, std::string_view sealed) {
  const std::string_view cipher = sealed.substr(0, sealed.size() - kTagLength);
  std::string tag(sealed.substr(cipher.size()));
  CipherContext ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  std::string out(cipher.size(), '\0');
  int n = 0, last = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), bytes(iv)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), bytes(out), &n, bytes(cipher), static_cast<int>(cipher.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagLength, bytes(tag)) != 1) {
    return std::unexpected(cryptoFailure("decrypting").error());
  }
  if (EVP_DecryptFinal_ex(ctx.get(), bytes(out) + n, &last) != 1) {
    OPENSSL_cleanse(out.data(), out.size());
    return core::fail(core::ErrorCode::Parse,
                      "cannot decrypt the keystore: its authentication tag does not match (the file is damaged, or "
                      "was written with another password)");
  }
  return out;
}

}  // namespace

core::Result<std::string> sealKeystore(std::string_view plaintext, std::string_view password) {
  std::string header(kSaltLength + kIvLength, '\0');
  if (RAND_bytes(bytes(header), static_cast<int>(header.size())) != 1) {
    return core::fail(core::ErrorCode::Internal, "no random bytes for the keystore's salt and IV (OpenSSL RAND_bytes)");
  }
  const std::string_view salt = std::string_view(header).substr(0, kSaltLength);
  const std::string_view iv = std::string_view(header).substr(kSaltLength);
  auto key = deriveKey(password, salt);
  if (!key) return std::unexpected(key.error());
  auto sealed = encrypt(*key, iv, plaintext);
  OPENSSL_cleanse(key->data(), key->size());
  if (!sealed) return std::unexpected(sealed.error());
  return std::string(kKeystoreVersion) + core::base64(header + *sealed);
}

core::Result<std::string> unsealKeystore(std::string_view file, std::string_view password) {
  if (!file.starts_with(kKeystoreVersion)) {
    return core::failf(core::ErrorCode::Parse, "the keystore's format is not version {} (it starts with \"{}\")",
                       kKeystoreVersion, std::string(file.substr(0, kKeystoreVersion.size())));
  }
  auto raw = core::fromBase64(file.substr(kKeystoreVersion.size()));
  if (!raw) return core::fail(core::ErrorCode::Parse, "the keystore is corrupt: its body is not base64");
  if (raw->size() < kSaltLength + kIvLength + kTagLength) {
    return core::fail(core::ErrorCode::Parse, "the keystore is corrupt or empty: too short to hold a salt, an IV and a tag");
  }
  const std::string_view all(*raw);
  auto key = deriveKey(password, all.substr(0, kSaltLength));
  if (!key) return std::unexpected(key.error());
  auto plain = decrypt(*key, all.substr(kSaltLength, kIvLength), all.substr(kSaltLength + kIvLength));
  OPENSSL_cleanse(key->data(), key->size());
  OPENSSL_cleanse(raw->data(), raw->size());
  return plain;
}

std::string encodeSecrets(const std::map<std::string, std::string, std::less<>>& secrets) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  for (const auto& [name, value] : secrets) {
    writer.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
    writer.StartObject();
    writer.Key("value");
    const std::string encoded = core::base64(value);  // Go writes []byte as base64
    writer.String(encoded.data(), static_cast<rapidjson::SizeType>(encoded.size()));
    writer.EndObject();
  }
  writer.EndObject();
  std::string json(buffer.GetString(), buffer.GetSize());
  OPENSSL_cleanse(const_cast<char*>(buffer.GetString()), buffer.GetSize());
  return json + "\n";
}

core::Result<std::map<std::string, std::string, std::less<>>> decodeSecrets(std::string_view json) {
  const auto corrupt = [](std::string_view why) {
    return core::failf(core::ErrorCode::Parse, "the keystore decrypted but its content is not valid: {}", why);
  };
  simdjson::dom::parser parser;
  simdjson::dom::object root;
  if (parser.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS) return corrupt("not a JSON object");
  std::map<std::string, std::string, std::less<>> secrets;
  for (auto [name, entry] : root) {
    std::string_view encoded;
    if (entry["value"].get_string().get(encoded) != simdjson::SUCCESS) return corrupt("an entry has no \"value\"");
    auto value = core::fromBase64(encoded);
    if (!value) return corrupt("a value is not base64");
    secrets[std::string(name)] = std::move(*value);
  }
  return secrets;
}

}  // namespace fim::management
