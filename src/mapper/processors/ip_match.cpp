#include "mapper/processors/ip_match.h"

#include <algorithm>

namespace fim::mapper::processors {
namespace {

bool isV4(const IpAddress& a) {
  return std::all_of(a.begin(), a.begin() + 10, [](std::uint8_t b) { return b == 0; }) && a[10] == 0xff && a[11] == 0xff;
}

bool allZero(const IpAddress& a, std::size_t from) {
  return std::all_of(a.begin() + static_cast<std::ptrdiff_t>(from), a.end(), [](std::uint8_t b) { return b == 0; });
}

bool inPrefix(const IpAddress& address, const config::IpNetwork& network) {
  const int full = network.prefixLength / 8;
  if (!std::equal(address.begin(), address.begin() + full, network.address.begin())) return false;
  const int rest = network.prefixLength % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (address[full] & mask) == (network.address[full] & mask);
}

bool loopback(const IpAddress& a) {
  if (isV4(a)) return a[12] == 127;
  return a[15] == 1 && std::all_of(a.begin(), a.begin() + 15, [](std::uint8_t b) { return b == 0; });  // ::1
}
bool unspecified(const IpAddress& a) { return isV4(a) ? allZero(a, 12) : allZero(a, 0); }
bool multicast(const IpAddress& a) { return isV4(a) ? (a[12] & 0xf0) == 0xe0 : a[0] == 0xff; }
bool linkLocalUnicast(const IpAddress& a) { return isV4(a) ? a[12] == 169 && a[13] == 254 : a[0] == 0xfe && (a[1] & 0xc0) == 0x80; }
bool linkLocalMulticast(const IpAddress& a) { return isV4(a) ? a[12] == 224 && a[13] == 0 && a[14] == 0 : a[0] == 0xff && a[1] == 0x02; }
bool interfaceLocalMulticast(const IpAddress& a) { return !isV4(a) && a[0] == 0xff && a[1] == 0x01; }
bool broadcast(const IpAddress& a) { return isV4(a) && a[12] == 255 && a[13] == 255 && a[14] == 255 && a[15] == 255; }

// Beats' private ranges: RFC 1918 and fd00::/8.
bool privateRange(const IpAddress& a) {
  if (!isV4(a)) return a[0] == 0xfd;
  return a[12] == 10 || (a[12] == 172 && (a[13] & 0xf0) == 16) || (a[12] == 192 && a[13] == 168);
}

bool globalUnicast(const IpAddress& a) {
  return !broadcast(a) && !unspecified(a) && !loopback(a) && !multicast(a) && !linkLocalUnicast(a);
}

bool publicRange(const IpAddress& a) {
  return !(privateRange(a) || loopback(a) || unspecified(a) || broadcast(a) || linkLocalUnicast(a) ||
           linkLocalMulticast(a) || interfaceLocalMulticast(a));
}

}  // namespace

core::Result<NetworkMatcher> NetworkMatcher::parse(std::string_view network) {
  static const std::pair<std::string_view, Named> kNames[] = {
      {"loopback", Named::Loopback},
      {"unicast", Named::GlobalUnicast},
      {"global_unicast", Named::GlobalUnicast},
      {"multicast", Named::Multicast},
      {"interface_local_multicast", Named::InterfaceLocalMulticast},
      {"link_local_unicast", Named::LinkLocalUnicast},
      {"link_local_multicast", Named::LinkLocalMulticast},
      {"private", Named::Private},
      {"public", Named::Public},
      {"unspecified", Named::Unspecified},
  };
  NetworkMatcher matcher;
  for (const auto& [name, named] : kNames) {
    if (name == network) {
      matcher.named_ = named;
      return matcher;
    }
  }
  auto cidr = config::parseCidr(network);
  if (!cidr) return core::failf(core::ErrorCode::InvalidArgument, "\"{}\" is neither a CIDR nor a named network", network);
  matcher.cidr_ = *cidr;
  return matcher;
}

bool NetworkMatcher::contains(const IpAddress& a) const {
  switch (named_) {
    case Named::None: return (cidr_.v4 || !isV4(a)) && inPrefix(a, cidr_);
    case Named::Loopback: return loopback(a);
    case Named::GlobalUnicast: return globalUnicast(a);
    case Named::Multicast: return multicast(a);
    case Named::InterfaceLocalMulticast: return interfaceLocalMulticast(a);
    case Named::LinkLocalUnicast: return linkLocalUnicast(a);
    case Named::LinkLocalMulticast: return linkLocalMulticast(a);
    case Named::Private: return privateRange(a);
    case Named::Public: return publicRange(a);
    case Named::Unspecified: return unspecified(a);
  }
  return false;
}

}  // namespace fim::mapper::processors
