#pragma once
// The format of fimbeat's database (<path.data>/fimbeat.db), recorded under the meta key
// "format_version". Format 1 (fimbeat 0.1) stored records of version 1 and no format key; format
// 2 records of version 2; format 3 records of versions 2 and 3 (a record is rewritten as version 3
// when its path next changes). Queued events carry their own version (queue/event_codec.h).

#include <cstdint>

#include "core/kv_store.h"
#include "core/result.h"

namespace fim::baseline {

inline constexpr std::uint32_t kDatabaseFormat = 3;
inline constexpr const char* kFormatKey = "format_version";
// Set by a rebuild of a damaged database (baseline/rebuild.h), with the reason; the first full
// scan after it removes it. Until then the scan's events carry file_integrity.baseline_rebuilt.
inline constexpr const char* kRebuiltKey = "baseline_rebuilt";

// Reads the database's format: a new database is marked with the current one, an older one is
// migrated in place (each record rewritten; a crash part-way is harmless, every record version
// stays readable and the migration runs again), a newer one is refused with a message naming
// both formats. Call before any stage uses the store.
[[nodiscard]] core::Status prepareDatabase(core::KvStore& store, const std::string& where);

}  // namespace fim::baseline
