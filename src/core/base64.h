#pragma once
// Base64 (RFC 4648) through OpenSSL's encoder: the one implementation every stage uses.

#include <string>
#include <string_view>

namespace fim::core {

// Standard alphabet, padded with '='.
std::string base64(std::string_view data);

// The URL-safe alphabet ('-' and '_' for '+' and '/'), without padding.
std::string base64Url(std::string_view data);

}  // namespace fim::core
