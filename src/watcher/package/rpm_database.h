#pragma once
// Reading RPM's database through librpm (librpm-dev, linked as Debian ships it): the headers of
// the installed packages, their files, digests and flags. RPM's database is a binary store
// (SQLite, NDB or Berkeley DB, by distribution and release) whose only stable interface is librpm
// (docs/design/package-verification.md).

#include <cstdint>
#include <optional>
#include <stop_token>
#include <string>

#include "core/result.h"
#include "watcher/package/package_snapshot.h"

namespace fim::watcher::rpm {

// A FILEDIGESTALGO value (OpenPGP hash algorithm ids: 1 MD5, 2 SHA-1, 8 SHA-256, 9 SHA-384,
// 10 SHA-512, 11 SHA-224) → the algorithm; nullopt for one fimbeat does not compute.
std::optional<DigestAlgorithm> digestAlgorithm(std::uint32_t pgpHashAlgo);

// "[epoch:]version-release", as RPM shows an installed package's EVR.
std::string packageVersion(std::optional<std::uint64_t> epoch, std::string_view version, std::string_view release);

// The database directory librpm is configured with (%{_dbpath}: /var/lib/rpm, or
// /usr/lib/sysimage/rpm on newer distributions); an error when librpm's configuration cannot be read.
[[nodiscard]] core::Result<std::string> defaultDbPath();

// Whether `dbPath` holds an RPM database (rpmdb.sqlite, Packages.db or Packages).
bool hasDatabase(const std::string& dbPath);

// The full index from the RPM database in `dbPath` (empty: librpm's %{_dbpath}) of the packages
// installed into `rootDir`; its top-level symlinks (merged /usr) map a packaged path to the
// observed one. Only regular files with a digest count (no directories, symlinks or %ghost
// files, none that RPM did not install: replaced, netshared, excluded); %config files are
// conffiles. Only the paths `scope` contains are kept. `stop` ends the read early (an error).
// NotFound when `dbPath` holds no database (librpm would create an empty one; fimbeat never does).
[[nodiscard]] core::Result<PackageSnapshot> loadDatabase(const std::string& dbPath, const std::string& rootDir = "/",
                                                        const PackageScope& scope = {}, std::stop_token stop = {});

}  // namespace fim::watcher::rpm
