#include "mapper/event_id.h"

// The low-level SHA256_* functions: no EVP provider dispatch per event (OpenSSL 3's EVP calls and
// its one-shot SHA256() cost about as much as the digest itself here); deprecated in OpenSSL 3 in
// favour of EVP but present, with the same digest and the same CPU-specific code.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <array>
#include <string_view>

namespace fim::mapper {
namespace {

constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::size_t kIdBytes = 15;  // 120 bits: 20 base64 characters, no padding

void putUint64(std::array<unsigned char, 8>& out, std::uint64_t v) {
  for (auto& b : out) {  // little endian, so the hash does not depend on the CPU
    b = static_cast<unsigned char>(v & 0xff);
    v >>= 8;
  }
}

}  // namespace

std::string EventIdHasher::id(const core::EnrichedEvent& enriched) {
  const core::FileEvent& e = enriched.event;
  const std::string& agentId = enriched.metadata ? enriched.metadata->agent.id : std::string();
  // The hashed bytes gathered in one reused buffer: one digest update instead of one per part.
  input_.clear();
  const auto append = [this](std::string_view bytes) { input_.append(bytes); };
  const auto appendUint64 = [this](std::uint64_t v) {
    std::array<unsigned char, 8> number;
    putUint64(number, v);
    input_.append(reinterpret_cast<const char*>(number.data()), number.size());
  };
  const char separator = 0;  // between variable-length parts, so they cannot run into each other
  append(agentId);
  input_.push_back(separator);
  appendUint64(e.sequence);
  append(e.file.path);
  input_.push_back(separator);
  for (const auto action : e.actions) {  // by name: stable even if the enum is reordered
    append(core::toString(action));
    input_.push_back(separator);
  }
  appendUint64(static_cast<std::uint64_t>(e.timestamp.time_since_epoch().count()));
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest;
  SHA256_CTX context;
  SHA256_Init(&context);
  SHA256_Update(&context, input_.data(), input_.size());
  SHA256_Final(digest.data(), &context);
  std::string out(kIdBytes / 3 * 4, '\0');
  for (std::size_t i = 0, o = 0; i < kIdBytes; i += 3) {
    const std::uint32_t triple = (digest[i] << 16) | (digest[i + 1] << 8) | digest[i + 2];
    out[o++] = kBase64Url[(triple >> 18) & 63];
    out[o++] = kBase64Url[(triple >> 12) & 63];
    out[o++] = kBase64Url[(triple >> 6) & 63];
    out[o++] = kBase64Url[triple & 63];
  }
  return out;
}

}  // namespace fim::mapper
