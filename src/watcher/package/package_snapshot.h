#pragma once
// PackageSnapshot: which installed package owns each file and the digest it installed, as read
// from the package manager's database at one moment. Immutable once built; shared by the workers.
// Only the paths fimbeat can observe are kept (PackageScope), in one sorted table: the path bytes
// in one arena, and per path 28 bytes (offset, length, package, binary MD5, flags).

#include <array>
#include <cstdint>
#include <optional>
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

struct OwnedFile {
  std::uint32_t package = 0;  // index into the snapshot's packages
  Md5 md5{};                  // valid when hasDigest
  bool hasDigest = false;
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
    struct Added {
      std::uint32_t offset;
      std::uint16_t length;
      OwnedFile file;
    };
    std::vector<Added> added_;  // in the order added
  };

 private:
  struct Entry {
    std::uint32_t offset;
    std::uint32_t package;
    Md5 md5;
    std::uint16_t length;
    std::uint8_t flags;  // kHasDigest | kConffile
  };
  static constexpr std::uint8_t kHasDigest = 1;
  static constexpr std::uint8_t kConffile = 2;
  std::string_view pathOf(const Entry& e) const { return {arena_.data() + e.offset, e.length}; }

  std::vector<InstalledPackage> packages_;
  std::string arena_;            // every kept path, in table order
  std::vector<Entry> entries_;   // sorted by path
};

// `hex`: 32 hex digits (either case) → the digest; nullopt otherwise.
std::optional<Md5> parseMd5(std::string_view hex);
bool isMd5Hex(std::string_view hex);
// Whether the lowercase or uppercase hex digest `hex` is `md5`.
bool sameMd5(const Md5& md5, std::string_view hex);

}  // namespace fim::watcher
