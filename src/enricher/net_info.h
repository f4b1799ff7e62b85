#pragma once
// host.ip and host.mac: the addresses of every interface except loopback, as add_host_metadata
// lists them.

#include <cstddef>
#include <string>
#include <vector>

namespace fim::enricher {

struct NetInfo {
  std::vector<std::string> ip;   // IPv4 and IPv6 (link-local included), each once, in interface order
  std::vector<std::string> mac;  // ECS form, each once
};

// ECS MAC form: upper-case hex pairs joined by '-' ("00-16-3E-5A-2B-01"); "" for no bytes.
std::string formatMac(const unsigned char* bytes, std::size_t length);

// True for an all-zero address, which interfaces without a hardware address report.
bool isZeroMac(const unsigned char* bytes, std::size_t length);

// From getifaddrs(3); empty lists when it fails.
NetInfo readNetInfo();

}  // namespace fim::enricher
