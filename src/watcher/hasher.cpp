#include "watcher/hasher.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <blake2.h>
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>

namespace fim::watcher {
namespace {

struct MdFree {
  void operator()(EVP_MD* md) const { EVP_MD_free(md); }
};
struct CtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct XxhFree {
  void operator()(XXH64_state_t* state) const { XXH64_freeState(state); }
};
using MdPtr = std::unique_ptr<EVP_MD, MdFree>;
using CtxPtr = std::unique_ptr<EVP_MD_CTX, CtxFree>;
using XxhPtr = std::unique_ptr<XXH64_state_t, XxhFree>;

// OpenSSL 3 algorithm names for the types OpenSSL computes; nullptr for the others.
const char* evpName(events::HashType type) {
  using events::HashType;
  switch (type) {
    case HashType::Md5: return "MD5";
    case HashType::Sha1: return "SHA1";
    case HashType::Sha224: return "SHA2-224";
    case HashType::Sha256: return "SHA2-256";
    case HashType::Sha384: return "SHA2-384";
    case HashType::Sha512: return "SHA2-512";
    case HashType::Sha512_224: return "SHA2-512/224";
    case HashType::Sha512_256: return "SHA2-512/256";
    case HashType::Sha3_224: return "SHA3-224";
    case HashType::Sha3_256: return "SHA3-256";
    case HashType::Sha3_384: return "SHA3-384";
    case HashType::Sha3_512: return "SHA3-512";
    default: return nullptr;
  }
}

// Digest length in bytes for the BLAKE2b variants; 0 for the others.
std::size_t blake2bLength(events::HashType type) {
  switch (type) {
    case events::HashType::Blake2b256: return 32;
    case events::HashType::Blake2b384: return 48;
    case events::HashType::Blake2b512: return 64;
    default: return 0;
  }
}

// The most recent OpenSSL error as text, clearing the queue.
std::string opensslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  std::array<char, 256> text{};
  ERR_error_string_n(code, text.data(), text.size());
  return text.data();
}

}  // namespace

struct MultiHasher::State {
  struct Evp {
    events::HashType type;
    MdPtr md;  // fetched once, reused for every input
    CtxPtr ctx;
  };
  struct Blake {
    events::HashType type;
    std::size_t length;
    blake2b_state state;
  };

  std::vector<Evp> evp;
  std::vector<Blake> blake;
  XxhPtr xxh;  // null when xxh64 is not configured
  std::optional<std::string> failure;  // a library call failed; finish() reports it

  void fail(const std::string& what) {
    if (!failure) failure = what;
  }
};

std::string toHex(std::span<const unsigned char> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    hex.push_back(kDigits[b >> 4]);
    hex.push_back(kDigits[b & 0x0f]);
  }
  return hex;
}

core::Result<MultiHasher> MultiHasher::create(std::vector<events::HashType> types) {
  std::sort(types.begin(), types.end());
  types.erase(std::unique(types.begin(), types.end()), types.end());

  auto state = std::make_unique<State>();
  for (events::HashType type : types) {
    if (const char* name = evpName(type)) {
      MdPtr md(EVP_MD_fetch(nullptr, name, nullptr));
      if (!md) {
        return core::failf(core::ErrorCode::Unavailable, "hash {} is not available from OpenSSL: {}",
                           events::toString(type), opensslError());
      }
      CtxPtr ctx(EVP_MD_CTX_new());
      if (!ctx) return core::fail(core::ErrorCode::Internal, "EVP_MD_CTX_new: out of memory");
      state->evp.push_back(State::Evp{type, std::move(md), std::move(ctx)});
    } else if (std::size_t length = blake2bLength(type)) {
      state->blake.push_back(State::Blake{type, length, {}});
    } else if (type == events::HashType::Xxh64) {
      state->xxh.reset(XXH64_createState());
      if (!state->xxh) return core::fail(core::ErrorCode::Internal, "XXH64_createState: out of memory");
    } else {
      return core::failf(core::ErrorCode::InvalidArgument, "unsupported hash type {}", events::toString(type));
    }
  }
  MultiHasher hasher(std::move(types), std::move(state));
  hasher.reset();
  if (hasher.state_->failure) return core::fail(core::ErrorCode::Internal, *hasher.state_->failure);
  return hasher;
}

MultiHasher::MultiHasher(std::vector<events::HashType> types, std::unique_ptr<State> state)
    : types_(std::move(types)), state_(std::move(state)) {}

MultiHasher::MultiHasher(MultiHasher&&) noexcept = default;
MultiHasher& MultiHasher::operator=(MultiHasher&&) noexcept = default;
MultiHasher::~MultiHasher() = default;

void MultiHasher::reset() {
  State& s = *state_;
  s.failure.reset();
  for (auto& e : s.evp) {
    if (EVP_DigestInit_ex2(e.ctx.get(), e.md.get(), nullptr) != 1) {
      s.fail(std::string("initialising ") + events::toString(e.type) + ": " + opensslError());
    }
  }
  for (auto& b : s.blake) {
    if (blake2b_init(&b.state, b.length) != 0) s.fail("blake2b_init failed");
  }
  if (s.xxh && XXH64_reset(s.xxh.get(), 0) != XXH_OK) s.fail("XXH64_reset failed");
}

void MultiHasher::update(std::span<const std::byte> data) { update(data.data(), data.size()); }

void MultiHasher::update(const void* data, std::size_t size) {
  if (size == 0) return;
  State& s = *state_;
  if (s.failure) return;  // the digests are already unusable
  for (auto& e : s.evp) {
    if (EVP_DigestUpdate(e.ctx.get(), data, size) != 1) {
      s.fail(std::string("updating ") + events::toString(e.type) + ": " + opensslError());
    }
  }
  for (auto& b : s.blake) {
    if (blake2b_update(&b.state, static_cast<const std::uint8_t*>(data), size) != 0) s.fail("blake2b_update failed");
  }
  if (s.xxh && XXH64_update(s.xxh.get(), data, size) != XXH_OK) s.fail("XXH64_update failed");
}

core::Result<std::map<events::HashType, std::string>> MultiHasher::finish() {
  State& s = *state_;
  std::map<events::HashType, std::string> digests;
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  for (auto& e : s.evp) {
    if (s.failure) break;
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(e.ctx.get(), out.data(), &length) != 1) {
      s.fail(std::string("finishing ") + events::toString(e.type) + ": " + opensslError());
      break;
    }
    digests.emplace(e.type, toHex({out.data(), length}));
  }
  for (auto& b : s.blake) {
    if (s.failure) break;
    if (blake2b_final(&b.state, out.data(), b.length) != 0) {
      s.fail("blake2b_final failed");
      break;
    }
    digests.emplace(b.type, toHex({out.data(), b.length}));
  }
  if (s.xxh && !s.failure) {
    // Canonical form is big-endian: the digits xxhsum prints.
    XXH64_canonical_t canonical;
    XXH64_canonicalFromHash(&canonical, XXH64_digest(s.xxh.get()));
    digests.emplace(events::HashType::Xxh64, toHex({canonical.digest, sizeof(canonical.digest)}));
  }
  std::optional<std::string> failure = std::move(s.failure);
  reset();
  if (failure) return core::fail(core::ErrorCode::Internal, "hashing: " + *failure);
  return digests;
}

}  // namespace fim::watcher
