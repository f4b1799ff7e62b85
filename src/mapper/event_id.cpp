#include "mapper/event_id.h"

#include <openssl/evp.h>

#include <array>
#include <stdexcept>
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

EventIdHasher::EventIdHasher() : context_(EVP_MD_CTX_new()), sha256_(EVP_MD_fetch(nullptr, "SHA256", nullptr)) {
  if (!context_ || !sha256_) throw std::runtime_error("OpenSSL has no SHA-256 digest");
}

EventIdHasher::~EventIdHasher() {
  EVP_MD_free(sha256_);
  EVP_MD_CTX_free(context_);
}

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
  bool ok = EVP_DigestInit_ex(context_, sha256_, nullptr) == 1;
  ok = ok && EVP_DigestUpdate(context_, input_.data(), input_.size()) == 1;
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest;
  unsigned int size = 0;
  ok = ok && EVP_DigestFinal_ex(context_, digest.data(), &size) == 1;
  if (!ok || size < kIdBytes) throw std::runtime_error("OpenSSL failed to compute a SHA-256 digest");
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
