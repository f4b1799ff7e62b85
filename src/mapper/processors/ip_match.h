#pragma once
// NetworkMatcher: one network of the `network` condition, a CIDR or one of Beats' named ranges
// (with Go's net.IP semantics), tested against a 16-byte address (IPv4 mapped as ::ffff:a.b.c.d).

#include <array>
#include <cstdint>
#include <string_view>

#include "config/processors_config.h"
#include "core/result.h"

namespace fim::mapper::processors {

using IpAddress = std::array<std::uint8_t, 16>;

class NetworkMatcher {
 public:
  enum class Named {
    None, Loopback, GlobalUnicast, Multicast, InterfaceLocalMulticast, LinkLocalUnicast, LinkLocalMulticast,
    Private, Public, Unspecified
  };

  [[nodiscard]] static core::Result<NetworkMatcher> parse(std::string_view network);

  bool contains(const IpAddress& address) const;

 private:
  Named named_ = Named::None;
  config::IpNetwork cidr_;
};

}  // namespace fim::mapper::processors
