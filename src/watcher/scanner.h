#pragma once
// Scanner: one pass over every configured path, one event per path (lstat metadata).

#include <string>
#include <vector>

#include "config/config.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "watcher/event_source.h"
#include "watcher/path_filter.h"

namespace fim::watcher {

class Scanner final : public EventSource {
 public:
  Scanner(const std::vector<config::ModuleConfig>& modules, const core::Clock& clock, core::Metrics& metrics);

  void run(std::stop_token stop, core::BoundedQueue<core::FileEvent>& out) override;

 private:
  struct Walk;
  void scanRoot(Walk& walk, const std::string& root) const;
  bool emit(Walk& walk, core::FileEvent event) const;

  std::vector<config::ModuleConfig> modules_;
  std::vector<PathFilter> filters_;
  const core::Clock& clock_;
  core::Counter& paths_;
  core::Counter& errors_;
  core::Counter& backpressure_;
};

// lstat → FileInfo; the path is kept byte for byte.
[[nodiscard]] core::Result<core::FileInfo> readFileInfo(const std::string& path);

}  // namespace fim::watcher
