#pragma once
// HashType: the 16 content hashes Auditbeat's file_integrity module offers, by its names.

#include <optional>
#include <string_view>
#include <vector>

namespace fim::events {

enum class HashType {
  Blake2b256, Blake2b384, Blake2b512, Md5, Sha1, Sha224, Sha256, Sha384, Sha512,
  Sha512_224, Sha512_256, Sha3_224, Sha3_256, Sha3_384, Sha3_512, Xxh64,
};

const char* toString(HashType type);  // "sha256", "blake2b_512", "xxh64", ...
std::optional<HashType> parseHashType(std::string_view name);
const std::vector<HashType>& allHashTypes();  // in the order above (alphabetical by name)

}  // namespace fim::events
