#include "mapper/event_id.h"

#include <openssl/evp.h>

#include <array>
#include <stdexcept>
#include <string_view>

#include "core/base64.h"

namespace fim::mapper {
namespace {

constexpr std::size_t kIdBytes = 15;  // 120 bits: 20 base64url characters, no padding

void appendUint64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) {  // little endian, so the hash does not depend on the CPU
    out.push_back(static_cast<char>(v & 0xff));
    v >>= 8;
  }
}

}  // namespace

void EventIdHasher::DigestDeleter::operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }

EventIdHasher::EventIdHasher() : context_(EVP_MD_CTX_new()) {
  if (!context_) throw std::runtime_error("EVP_MD_CTX_new: out of memory");
}

std::string EventIdHasher::id(const events::EnrichedEvent& enriched) {
  const events::FileEvent& e = enriched.event;
  const std::string& agentId = enriched.metadata ? enriched.metadata->agent.id : std::string();
  // The hashed bytes gathered in one reused buffer: one digest update instead of one per part.
  input_.clear();
  const char separator = 0;  // between variable-length parts, so they cannot run into each other
  input_.append(agentId);
  input_.push_back(separator);
  appendUint64(input_, e.sequence);
  input_.append(e.file.path);
  input_.push_back(separator);
  for (const auto action : e.actions) {  // by name: stable even if the enum is reordered
    input_.append(events::toString(action));
    input_.push_back(separator);
  }
  appendUint64(input_, static_cast<std::uint64_t>(e.timestamp.time_since_epoch().count()));
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_DigestInit_ex2(context_.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(context_.get(), input_.data(), input_.size()) != 1 ||
      EVP_DigestFinal_ex(context_.get(), digest.data(), &length) != 1 || length < kIdBytes) {
    throw std::runtime_error("SHA-256 of an event id failed in OpenSSL");
  }
  return core::base64Url(std::string_view(reinterpret_cast<const char*>(digest.data()), kIdBytes));
}

}  // namespace fim::mapper
