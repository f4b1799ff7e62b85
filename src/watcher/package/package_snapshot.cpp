#include "watcher/package/package_snapshot.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include "core/paths.h"

namespace fim::watcher {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::size_t digestSize(DigestAlgorithm algorithm) {
  switch (algorithm) {
    case DigestAlgorithm::None: return 0;
    case DigestAlgorithm::Md5: return 16;
    case DigestAlgorithm::Sha1: return 20;
    case DigestAlgorithm::Sha224: return 28;
    case DigestAlgorithm::Sha256: return 32;
    case DigestAlgorithm::Sha384: return 48;
    case DigestAlgorithm::Sha512: return 64;
  }
  return 0;
}

Digest::Digest(const Md5& md5) : algorithm_(DigestAlgorithm::Md5) { std::copy(md5.begin(), md5.end(), bytes_.begin()); }

Digest::Digest(DigestAlgorithm algorithm, std::span<const std::uint8_t> bytes) {
  if (algorithm == DigestAlgorithm::None || bytes.size() != digestSize(algorithm)) return;
  algorithm_ = algorithm;
  std::copy(bytes.begin(), bytes.end(), bytes_.begin());
}

bool Digest::matches(std::string_view hex) const {
  const auto value = bytes();
  if (algorithm_ == DigestAlgorithm::None || hex.size() != 2 * value.size()) return false;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const int hi = hexValue(hex[2 * i]);
    const int lo = hexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0 || value[i] != static_cast<std::uint8_t>(hi << 4 | lo)) return false;
  }
  return true;
}

void PackageScope::add(std::string root, bool recursive) { roots_.emplace_back(std::move(root), recursive); }

bool PackageScope::contains(std::string_view path) const {
  if (roots_.empty()) return true;
  for (const auto& [root, recursive] : roots_) {
    if (!core::isWithin(path, root)) continue;
    if (recursive || path == root) return true;
    const std::string_view rest = path.substr(root == "/" ? 1 : root.size() + 1);
    if (rest.find('/') == std::string_view::npos) return true;  // a direct entry of the root
  }
  return false;
}

std::optional<OwnedFile> PackageSnapshot::find(std::string_view path) const {
  const auto it = std::lower_bound(entries_.begin(), entries_.end(), path,
                                   [&](const Entry& e, std::string_view p) { return pathOf(e) < p; });
  if (it == entries_.end() || pathOf(*it) != path) return std::nullopt;
  const auto* digest = reinterpret_cast<const std::uint8_t*>(arena_.data() + it->offset + it->length);
  return OwnedFile{it->package, Digest(it->algorithm, {digest, digestSize(it->algorithm)}), it->conffile};
}

std::size_t PackageSnapshot::bytes() const {
  std::size_t packages = packages_.capacity() * sizeof(InstalledPackage);
  for (const auto& p : packages_) packages += p.name.capacity() + p.version.capacity() + p.architecture.capacity();
  return arena_.capacity() + entries_.capacity() * sizeof(Entry) + packages;
}

std::uint32_t PackageSnapshot::Builder::addPackage(InstalledPackage package) {
  packages_.push_back(std::move(package));
  return static_cast<std::uint32_t>(packages_.size() - 1);
}

void PackageSnapshot::Builder::addFile(std::string_view path, const OwnedFile& file) {
  if (path.size() > std::numeric_limits<std::uint16_t>::max() || !scope_.contains(path)) return;
  const auto digest = file.digest.bytes();
  // 4 GiB of paths: not a real system
  if (arena_.size() + path.size() + digest.size() > std::numeric_limits<std::uint32_t>::max()) return;
  added_.push_back({static_cast<std::uint32_t>(arena_.size()), file.package, static_cast<std::uint16_t>(path.size()),
                    file.conffile, file.digest.algorithm()});
  arena_.append(path);
  arena_.append(reinterpret_cast<const char*>(digest.data()), digest.size());
}

PackageSnapshot PackageSnapshot::Builder::build() && {
  const auto pathAt = [&](const Added& a) { return std::string_view(arena_.data() + a.offset, a.length); };
  std::vector<std::uint32_t> order(added_.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::uint32_t a, std::uint32_t b) { return pathAt(added_[a]) < pathAt(added_[b]); });
  PackageSnapshot snapshot;
  snapshot.packages_ = std::move(packages_);
  std::size_t keptBytes = 0;
  std::vector<std::uint32_t> kept;  // per path, the entry that owns it
  for (std::size_t i = 0; i < order.size();) {
    std::size_t end = i + 1;
    while (end < order.size() && pathAt(added_[order[end]]) == pathAt(added_[order[i]])) ++end;
    std::uint32_t owner = order[i];
    for (std::size_t j = i; j < end; ++j) {
      if (added_[order[j]].conffile) {
        owner = order[j];
        break;
      }
    }
    kept.push_back(owner);
    keptBytes += added_[owner].length + digestSize(added_[owner].algorithm);
    i = end;
  }
  snapshot.arena_.reserve(keptBytes);
  snapshot.entries_.reserve(kept.size());
  for (const std::uint32_t k : kept) {
    const Added& a = added_[k];
    snapshot.entries_.push_back({static_cast<std::uint32_t>(snapshot.arena_.size()), a.package, a.length, a.conffile,
                                 a.algorithm});
    snapshot.arena_.append(arena_.data() + a.offset, a.length + digestSize(a.algorithm));
  }
  return snapshot;
}

std::optional<Md5> parseMd5(std::string_view hex) {
  if (hex.size() != 32) return std::nullopt;
  Md5 md5{};
  for (std::size_t i = 0; i < md5.size(); ++i) {
    const int hi = hexValue(hex[2 * i]);
    const int lo = hexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    md5[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return md5;
}

bool isMd5Hex(std::string_view hex) { return parseMd5(hex).has_value(); }

}  // namespace fim::watcher
