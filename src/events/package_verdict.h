#pragma once
// PackageVerdict: which installed package owns a changed file and whether the new content is what
// that package installed (package.*, file_integrity.package_verified/package_conffile/change_source).

#include <optional>
#include <string>

namespace fim::events {

struct PackageVerdict {
  std::string name;          // package.name
  std::string version;       // package.version
  std::string architecture;  // package.architecture
  // true: the content matches the package's recorded digest; false: a non-config file differs
  // from it; nullopt: not checked (a conffile that differs, no digest recorded, content not read).
  std::optional<bool> verified;
  bool conffile = false;        // a configuration file, expected to change: never a violation
  bool byPackageManager = false;  // who-data says dpkg, apt, rpm, dnf, ... wrote it
};

}  // namespace fim::events
