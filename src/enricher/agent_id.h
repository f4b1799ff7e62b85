#pragma once
// agent.id: a UUID kept in <path.data>/meta.json (the file and format Beats use, so a data
// directory taken over from Auditbeat keeps its agent id), stable across restarts.

#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"

namespace fim::enricher {

struct AgentIdentity {
  std::string id;
  bool created = false;          // there was no meta.json: a new id was written
  bool replacedCorrupt = false;  // meta.json held no valid id: a new one replaced it (logged as a warning)
};

// A random (version 4) UUID in lower-case 8-4-4-4-12 form, from getrandom(2).
[[nodiscard]] core::Result<std::string> newUuidV4();

// True for the 8-4-4-4-12 hex form (either case).
bool isUuid(std::string_view text);

// The id from <dataDir>/meta.json; when the file is missing or holds no valid id, a new id is
// written there atomically (temporary file, fsync, rename) with mode 0600. dataDir is created
// (0750) when missing. A symlink in place of meta.json is refused, never followed.
[[nodiscard]] core::Result<AgentIdentity> loadOrCreateAgentId(const std::string& dataDir, const core::Clock& clock);

}  // namespace fim::enricher
