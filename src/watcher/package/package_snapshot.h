#pragma once
// PackageSnapshot: which installed package owns each file and the digest it installed, as read
// from the package manager's database at one moment. Immutable once built; shared by the workers.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace fim::watcher {

struct InstalledPackage {
  std::string name;
  std::string version;
  std::string architecture;
};

struct OwnedFile {
  std::uint32_t package = 0;  // index into the snapshot's packages
  std::array<char, 32> md5{};  // lowercase hex, as dpkg records it; valid when hasDigest
  bool hasDigest = false;
  bool conffile = false;
};

class PackageSnapshot {
 public:
  // The owner of a path (absolute, as fimbeat observes it), or null.
  const OwnedFile* find(std::string_view path) const;
  const InstalledPackage& package(const OwnedFile& file) const { return packages_[file.package]; }
  std::size_t packageCount() const { return packages_.size(); }
  std::size_t fileCount() const { return files_.size(); }

  std::uint32_t addPackage(InstalledPackage package);
  // The first owner of a path keeps it, except that a conffile entry replaces a plain one.
  void addFile(std::string path, const OwnedFile& file);

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::vector<InstalledPackage> packages_;
  std::unordered_map<std::string, OwnedFile, Hash, std::equal_to<>> files_;
};

// True when `hex` is 32 lowercase or uppercase hex digits (a usable MD5 digest).
bool isMd5Hex(std::string_view hex);

}  // namespace fim::watcher
