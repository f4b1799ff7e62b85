#include "events/hash_type.h"

namespace fim::events {

const std::vector<HashType>& allHashTypes() {
  static const std::vector<HashType> kAll{
      HashType::Blake2b256, HashType::Blake2b384, HashType::Blake2b512, HashType::Md5,      HashType::Sha1,
      HashType::Sha224,     HashType::Sha256,     HashType::Sha384,     HashType::Sha512,   HashType::Sha512_224,
      HashType::Sha512_256, HashType::Sha3_224,   HashType::Sha3_256,   HashType::Sha3_384, HashType::Sha3_512,
      HashType::Xxh64};
  return kAll;
}

const char* toString(HashType type) {
  switch (type) {
    case HashType::Blake2b256: return "blake2b_256";
    case HashType::Blake2b384: return "blake2b_384";
    case HashType::Blake2b512: return "blake2b_512";
    case HashType::Md5: return "md5";
    case HashType::Sha1: return "sha1";
    case HashType::Sha224: return "sha224";
    case HashType::Sha256: return "sha256";
    case HashType::Sha384: return "sha384";
    case HashType::Sha512: return "sha512";
    case HashType::Sha512_224: return "sha512_224";
    case HashType::Sha512_256: return "sha512_256";
    case HashType::Sha3_224: return "sha3_224";
    case HashType::Sha3_256: return "sha3_256";
    case HashType::Sha3_384: return "sha3_384";
    case HashType::Sha3_512: return "sha3_512";
    case HashType::Xxh64: return "xxh64";
  }
  return "unknown";
}

std::optional<HashType> parseHashType(std::string_view name) {
  for (HashType t : allHashTypes()) {
    if (name == toString(t)) return t;
  }
  return std::nullopt;
}

}  // namespace fim::events
