#include "enricher/net_info.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>

namespace fim::enricher {
namespace {

void addOnce(std::vector<std::string>& list, std::string value) {
  if (!value.empty() && std::find(list.begin(), list.end(), value) == list.end()) list.push_back(std::move(value));
}

std::string ipText(const sockaddr* addr) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
    if (::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text)) return text;
  } else if (addr->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
    if (::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text)) return text;
  }
  return {};
}

}  // namespace

std::string formatMac(const unsigned char* bytes, std::size_t length) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(length * 3);
  for (std::size_t i = 0; i < length; ++i) {
    if (i > 0) out.push_back('-');
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0x0f]);
  }
  return out;
}

bool isZeroMac(const unsigned char* bytes, std::size_t length) {
  return std::all_of(bytes, bytes + length, [](unsigned char b) { return b == 0; });
}

NetInfo readNetInfo() {
  NetInfo info;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return info;
  for (const ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_addr == nullptr || (it->ifa_flags & IFF_LOOPBACK) != 0) continue;
    if (it->ifa_addr->sa_family == AF_PACKET) {
      const auto* ll = reinterpret_cast<const sockaddr_ll*>(it->ifa_addr);
      if (ll->sll_halen > 0 && !isZeroMac(ll->sll_addr, ll->sll_halen)) addOnce(info.mac, formatMac(ll->sll_addr, ll->sll_halen));
    } else {
      addOnce(info.ip, ipText(it->ifa_addr));
    }
  }
  ::freeifaddrs(list);
  return info;
}

}  // namespace fim::enricher
