#include "core/entity_id.h"

#include <openssl/evp.h>

#include <array>
#include <memory>

#include "core/base64.h"

namespace fim::core {
namespace {

void appendLittleEndian(std::string& out, std::int64_t value) {
  auto bits = static_cast<std::uint64_t>(value);
  for (int i = 0; i < 8; ++i, bits >>= 8) out.push_back(static_cast<char>(bits & 0xff));
}

}  // namespace

std::string processEntityId(std::string_view hostId, std::int64_t pid, TimePoint startTime) {
  if (hostId.empty()) return {};
  const auto sinceEpoch = std::chrono::duration_cast<std::chrono::nanoseconds>(startTime.time_since_epoch()).count();
  std::int64_t nanos = sinceEpoch % 1'000'000'000;  // Go's Time.Nanosecond(): within the second, never negative
  if (nanos < 0) nanos += 1'000'000'000;
  std::string input(hostId);
  appendLittleEndian(input, pid);
  appendLittleEndian(input, nanos);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(input.data(), input.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1 || length < 12) return {};
  std::string encoded = base64(std::string_view(reinterpret_cast<const char*>(digest.data()), 12));
  while (!encoded.empty() && encoded.back() == '=') encoded.pop_back();  // 12 bytes need none; raw encoding
  return encoded;
}

TimePoint processStartTime(std::int64_t bootSeconds, std::uint64_t ticks) {
  // The same float64 arithmetic as go-sysinfo's ticksToDuration, so the nanoseconds agree.
  const double seconds = static_cast<double>(ticks) / 100.0 * 1e9;
  const auto sinceBoot = std::chrono::nanoseconds(static_cast<std::int64_t>(seconds));
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::seconds(bootSeconds) + sinceBoot));
}

}  // namespace fim::core
