#pragma once
// diff(old, new) → actions: the pure heart of FIM. Auditbeat's rules, plus the names of the
// attributes that changed so an analyst sees what changed without searching history.

#include <string>
#include <vector>

#include "events/file_event.h"

namespace fim::baseline {

struct Change {
  std::vector<events::Action> actions;            // empty: nothing to report
  std::vector<std::string> changedAttributes;   // "hash.sha256", "size", "mtime", "mode", "owner", ...
};

// `old` is the baseline's view of the path, or null when it has none. `rootKnown` says whether
// the configured root was scanned before: a path new under a new root is initial_scan, not created.
Change diff(const events::FileInfo* old, const events::FileInfo& now, bool rootKnown);

}  // namespace fim::baseline
