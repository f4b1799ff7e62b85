#pragma once
// Base64 (RFC 4648) through OpenSSL's encoder: the one implementation every stage uses.

#include <optional>
#include <string>
#include <string_view>

namespace fim::core {

// Standard alphabet, padded with '='.
std::string base64(std::string_view data);

// Decodes the standard alphabet, padded; nullopt for anything else (whitespace included).
std::optional<std::string> fromBase64(std::string_view text);

// The URL-safe alphabet ('-' and '_' for '+' and '/'), without padding.
std::string base64Url(std::string_view data);

// Decodes the standard alphabet (padding optional); nullopt when `text` is not base64.
std::optional<std::string> base64Decode(std::string_view text);

}  // namespace fim::core
