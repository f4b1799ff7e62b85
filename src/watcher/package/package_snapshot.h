#pragma once
// PackageSnapshot: which installed package owns each file and the digest it installed, as read
// from the package manager's database at one moment. Immutable once built; shared by the workers.
// Only the paths fimbeat can observe are kept (PackageScope), in one sorted table: each path's bytes
// followed by its binary digest in one arena, and per path 12 bytes (offset, length, package,
// flags, digest algorithm): 28 bytes a file with dpkg's MD5s, 44 with RPM's SHA-256s.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fim::watcher {

struct InstalledPackage {
  std::string name;
  std::string version;
  std::string architecture;
};

using Md5 = std::array<std::uint8_t, 16>;

// The algorithms package databases record file digests with (dpkg: MD5; RPM: its
// FILEDIGESTALGO) that fimbeat's hasher also computes.
enum class DigestAlgorithm : std::uint8_t { None, Md5, Sha1, Sha224, Sha256, Sha384, Sha512 };
std::size_t digestSize(DigestAlgorithm algorithm);  // bytes; 0 for None

// A digest a package recorded: its algorithm and binary value. Empty (None) when it recorded none.
class Digest {
 public:
  static constexpr std::size_t kMaxSize = 64;
  Digest() = default;
  Digest(const Md5& md5);  // NOLINT(google-explicit-constructor): dpkg's digests are MD5s
  // Empty when `bytes` is not exactly the algorithm's size.
  Digest(DigestAlgorithm algorithm, std::span<const std::uint8_t> bytes);

  DigestAlgorithm algorithm() const { return algorithm_; }
  std::span<const std::uint8_t> bytes() const { return {bytes_.data(), digestSize(algorithm_)}; }
  explicit operator bool() const { return algorithm_ != DigestAlgorithm::None; }
  // Whether `hex` (either case) is this digest.
  bool matches(std::string_view hex) const;

 private:
  std::array<std::uint8_t, kMaxSize> bytes_{};
  DigestAlgorithm algorithm_ = DigestAlgorithm::None;
};

struct OwnedFile {
  std::uint32_t package = 0;  // index into the snapshot's packages
  Digest digest;              // empty: the package recorded none
  bool conffile = false;
};

// The paths worth indexing: those under the watched roots of the modules that verify packages
// (a non-recursive root: its direct entries only). Default-constructed: every path.
class PackageScope {
 public:
  void add(std::string root, bool recursive);
  bool contains(std::string_view path) const;
  bool everything() const { return roots_.empty(); }

 private:
  std::vector<std::pair<std::string, bool>> roots_;
};

class PackageSnapshot {
 public:
  // The owner of a path (absolute, as fimbeat observes it), if a package owns it.
  std::optional<OwnedFile> find(std::string_view path) const;
  const InstalledPackage& package(const OwnedFile& file) const { return packages_[file.package]; }
  std::size_t packageCount() const { return packages_.size(); }
  std::size_t fileCount() const { return entries_.size(); }
  // What the table holds in memory, for the log and the metrics.
  std::size_t bytes() const;

  class Builder {
   public:
    explicit Builder(PackageScope scope = {}) : scope_(std::move(scope)) {}
    std::uint32_t addPackage(InstalledPackage package);
    // Kept when the scope contains it. Of several owners of a path the first keeps it, except
    // that the first conffile entry replaces a plain one.
    void addFile(std::string_view path, const OwnedFile& file);
    bool wanted(std::string_view path) const { return scope_.contains(path); }
    PackageSnapshot build() &&;

   private:
    PackageScope scope_;
    std::vector<InstalledPackage> packages_;
    std::string arena_;
    struct Added {  // the path and then its digest in arena_, as in the snapshot's table
      std::uint32_t offset;
      std::uint32_t package;
      std::uint16_t length;
      bool conffile;
      DigestAlgorithm algorithm;
    };
    std::vector<Added> added_;  // in the order added
  };

 private:
  // The arena holds the path's bytes, then the digest's (digestSize(algorithm) of them).
  struct Entry {
    std::uint32_t offset;
    std::uint32_t package;
    std::uint16_t length;
    bool conffile;
    DigestAlgorithm algorithm;
  };
  std::string_view pathOf(const Entry& e) const { return {arena_.data() + e.offset, e.length}; }

  std::vector<InstalledPackage> packages_;
  std::string arena_;            // every kept path and its digest, in table order
  std::vector<Entry> entries_;   // sorted by path
};

// `hex`: 32 hex digits (either case) → the digest; nullopt otherwise.
std::optional<Md5> parseMd5(std::string_view hex);
bool isMd5Hex(std::string_view hex);

}  // namespace fim::watcher
