#pragma once
// Reading dpkg's database: the files dpkg documents under its admin directory (dpkg(1) FILES,
// deb-md5sums(5), deb-conffiles(5), dpkg-divert(1)), not libdpkg, which Debian ships only as a
// static library with an API it declares volatile (docs/design/package-verification.md).

#include <functional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "watcher/package/package_snapshot.h"

namespace fim::watcher::dpkg {

// One package of the status file (or of an updates/ journal entry).
struct StatusEntry {
  InstalledPackage package;
  std::string state;  // third word of Status: installed, unpacked, half-configured, config-files, ...
  std::vector<std::pair<std::string, std::string>> conffiles;  // path and md5 hex; obsolete ones left out
};

// The stanzas of a status file (deb822: "Field: value", continuation lines indented, blank lines
// between stanzas). Stanzas without Package are skipped.
std::vector<StatusEntry> parseStatus(std::string_view text);

// "<md5 hex>  <path relative to />" lines; calls `line` with the absolute path and the digest.
// Malformed lines are skipped.
void parseMd5sums(std::string_view text, const std::function<void(std::string path, std::string_view md5)>& line);

// A `.list` file: one absolute path a line.
void parseList(std::string_view text, const std::function<void(std::string path)>& line);

struct Diversion {
  std::string from;  // the path packages install
  std::string to;    // where the diverted file lives instead
  std::string by;    // the diverting package, ":" for a local diversion
};
// The diversions file: three lines per diversion (from, to, package).
std::vector<Diversion> parseDiversions(std::string_view text);

// The full index from dpkg's admin directory (normally /var/lib/dpkg). `rootDir` is the file
// system the packages were installed into: its top-level symlinks (merged /usr: /bin → usr/bin)
// map a packaged path to the path fimbeat observes. Only the paths `scope` contains are kept.
// `stop` ends the read early (an error).
[[nodiscard]] core::Result<PackageSnapshot> loadDatabase(const std::string& adminDir, const std::string& rootDir = "/",
                                                        const PackageScope& scope = {}, std::stop_token stop = {});

}  // namespace fim::watcher::dpkg
