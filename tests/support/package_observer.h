#pragma once
// PackageObserver: a FileObserver of one module (the given hashes, no MIME type, no rate limit)
// that asks `packages` for its verdicts (unless `verify` is false), and observe(path) on a file
// named by its full path.
// The package-verification tests of dpkg and RPM (watcher tests only).

#include <doctest/doctest.h>

#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "support/path_at.h"
#include "watcher/file_observer.h"

namespace fim::testing {

class PackageObserver {
 public:
  PackageObserver(std::vector<std::string> hashTypes, core::Metrics& metrics, watcher::PackageIndex* packages,
                  bool verify = true)
      : shared_({moduleWith(std::move(hashTypes), verify)}, nullptr, metrics, packages), observer_(shared_) {}

  events::PathSeen observe(const std::string& path) {
    auto seen = observer_.observe(locate(path).at(), 0, 0, stop_.get_token());
    REQUIRE(seen.has_value());
    return std::move(*seen);
  }

 private:
  static config::ModuleConfig moduleWith(std::vector<std::string> hashTypes, bool verify) {
    config::ModuleConfig m;
    m.hashTypes = std::move(hashTypes);
    m.packageVerification = verify;
    m.mimeType = false;
    m.scanRatePerSec = 0;
    return m;
  }

  watcher::ObserverShared shared_;
  watcher::FileObserver observer_;
  std::stop_source stop_;
};

}  // namespace fim::testing
