#include "baseline/database_format.h"

#include <charconv>

#include "baseline/record.h"
#include "core/logging.h"

namespace fim::baseline {
namespace {

constexpr std::size_t kMigrationBatch = 1000;
constexpr const char* kVersion1ScanIdKey = "scan_id";  // format 1 only: nothing reads it any more

core::Result<bool> anyKey(core::KvStore& store) {
  for (auto family : {core::Family::Baseline, core::Family::Meta, core::Family::Queue}) {
    bool found = false;
    auto scanned = store.scan(family, "", [&](std::string_view, std::string_view) {
      found = true;
      return false;
    });
    if (!scanned) return std::unexpected(scanned.error());
    if (found) return true;
  }
  return false;
}

core::Status writeFormat(core::KvStore& store, core::WriteBatch& batch) {
  batch.put(core::Family::Meta, kFormatKey, std::to_string(kDatabaseFormat));
  return store.write(batch);
}

// Format 1 → 2: every record of version 1 rewritten as version 2, a batch at a time (written
// between scans, never while the store is being read); the scan id goes.
core::Status migrateFrom1(core::KvStore& store, std::uint64_t& migrated, std::uint64_t& undecodable) {
  std::string from;
  for (;;) {
    core::WriteBatch batch;
    std::string last;
    std::size_t seen = 0;
    auto scanned = store.scanFrom(core::Family::Baseline, from, [&](std::string_view key, std::string_view value) {
      last.assign(key);
      if (++seen > kMigrationBatch) return false;
      if (value.empty() || static_cast<std::uint8_t>(value.front()) != 1) return true;
      auto record = decodeRecord(key, value);
      if (!record) {
        ++undecodable;  // left as it is: reported and replaced when the agent meets it
        return true;
      }
      batch.put(core::Family::Baseline, std::string(key), encodeRecord(*record));
      ++migrated;
      return true;
    });
    if (!scanned) return scanned;
    if (seen <= kMigrationBatch) {  // the last batch
      batch.remove(core::Family::Meta, kVersion1ScanIdKey);
      return writeFormat(store, batch);
    }
    if (auto written = store.write(batch); !written) return written;
    from = last;  // the first key not handled in this round
  }
}

}  // namespace

core::Status prepareDatabase(core::KvStore& store, const std::string& where) {
  auto stored = store.get(core::Family::Meta, kFormatKey);
  if (!stored) return std::unexpected(stored.error());
  std::uint32_t format = 1;
  if (*stored) {
    const std::string& text = **stored;
    if (std::from_chars(text.data(), text.data() + text.size(), format).ec != std::errc() || format == 0) {
      return core::failf(core::ErrorCode::Parse,
                         "the fimbeat database in {} records an unreadable format \"{}\"; move it aside to start a "
                         "new baseline",
                         where, text);
    }
  } else {
    auto used = anyKey(store);
    if (!used) return std::unexpected(used.error());
    if (!*used) {
      core::WriteBatch batch;
      return writeFormat(store, batch);
    }
  }
  if (format == kDatabaseFormat) return {};
  if (format > kDatabaseFormat) {
    return core::failf(core::ErrorCode::InvalidArgument,
                       "the fimbeat database in {} has format {}, written by a newer fimbeat; this fimbeat reads "
                       "formats 1 to {}. Run the newer fimbeat, or move the database aside to start a new baseline",
                       where, format, kDatabaseFormat);
  }
  std::uint64_t migrated = 0, undecodable = 0;
  if (format >= 2) {
    // Format 2 → 3: version 2 records stay readable as they are; only the format moves, so that an
    // older fimbeat refuses the database instead of meeting records it cannot read.
    core::WriteBatch batch;
    if (auto done = writeFormat(store, batch); !done) return done;
  } else if (auto done = migrateFrom1(store, migrated, undecodable); !done) {
    return std::unexpected(done.error().context("migrating the fimbeat database in " + where + " from format 1"));
  }
  core::logger("baseline").info("migrated the fimbeat database in {} from format {} to {}: {} records rewritten{}",
                                where, format, kDatabaseFormat, migrated,
                                undecodable > 0 ? fmt::format(", {} that could not be read left to be replaced",
                                                              undecodable)
                                                : std::string());
  return {};
}

}  // namespace fim::baseline
