#include "baseline/rebuild.h"

#include <filesystem>
#include <optional>

#include "baseline/database_format.h"
#include "core/clock.h"
#include "core/logging.h"
#include "core/time_format.h"
#include "core/utf8.h"

namespace fim::baseline {
namespace {

constexpr std::size_t kCopyBatch = 1000;
constexpr std::size_t kMaxProbes = 100000;    // per family: damage that defeats the search stops the copy
constexpr std::size_t kMaxKeyLength = 1 << 16;  // no key fimbeat writes is longer

// A cursor on the first key after the damage that follows `last`, or null when none can be found.
// A seek to a key K reads the block that holds K's place, so it fails while K falls in the damaged
// block, that is from just after `last` up to the block's last key S, and reads again for every
// K > S. S is found a byte at a time: the greatest byte that still fails, by bisection. S followed
// by a zero byte is then the smallest key past the damage. Each probe takes a new cursor: RocksDB's
// iterator keeps its error once it has met one.
std::unique_ptr<core::KvCursor> pastDamage(core::KvStore& store, core::Family family,
                                           const std::optional<std::string>& last, std::size_t& probes) {
  std::unique_ptr<core::KvCursor> cursor;
  const auto reads = [&](const std::string& key) {
    if (last && key <= *last) return false;  // not past the damage
    ++probes;
    cursor = store.cursor(family);
    cursor->seek(key);
    return cursor->status().has_value();
  };
  std::string prefix;  // a prefix of S
  while (probes < kMaxProbes && prefix.size() < kMaxKeyLength) {
    if (reads(prefix + '\0')) return cursor;  // prefix is S
    int fails = 0, readsAgain = 256;  // prefix + byte: fails for bytes up to S's next byte
    while (readsAgain - fails > 1) {
      const int middle = (fails + readsAgain) / 2;
      (reads(prefix + static_cast<char>(middle)) ? readsAgain : fails) = middle;
    }
    prefix += static_cast<char>(fails);
  }
  return nullptr;
}

std::string printable(std::string_view key) { return key.empty() ? "(none)" : core::toValidUtf8(key); }

}  // namespace

core::Status salvageFamily(core::KvStore& from, core::KvStore& to, core::Family family, Salvage& salvage) {
  auto cursor = from.cursor(family);
  core::WriteBatch batch;
  const auto flush = [&]() -> core::Status {
    if (batch.empty()) return {};
    auto ok = to.write(batch);
    batch.clear();
    return ok;
  };
  std::optional<std::string> last;
  std::size_t probes = 0;
  cursor->seek("");
  for (;;) {
    for (; cursor->valid(); cursor->next()) {
      last.emplace(cursor->key());
      batch.put(family, *last, std::string(cursor->value()));
      ++salvage.copied;
      if (batch.size() >= kCopyBatch) {
        if (auto ok = flush(); !ok) return ok;
      }
    }
    auto status = cursor->status();
    if (status) break;  // the end
    if (status.error().code() != core::ErrorCode::Corrupt) return status;
    cursor = pastDamage(from, family, last, probes);
    LostRange lost{family, last.value_or(""), ""};
    if (cursor && cursor->valid()) lost.before = std::string(cursor->key());
    salvage.lost.push_back(std::move(lost));
    if (!cursor) break;  // the rest of the family cannot be reached
  }
  return flush();
}

core::Result<Rebuilt> rebuildDatabase(const std::string& directory, const std::string& reason) {
  Rebuilt rebuilt;
  std::string stamp = core::formatTimestamp(core::SystemClock().now());  // 2026-12-05T12:00:00.000Z
  std::erase_if(stamp, [](char c) { return c == '-' || c == ':' || c == '.'; });
  rebuilt.damaged = directory + ".damaged-" + stamp;
  std::error_code ec;
  std::filesystem::rename(directory, rebuilt.damaged, ec);
  if (ec) {
    return core::failf(core::ErrorCode::Io, "cannot move the damaged database {} aside to {}: {}", directory,
                       rebuilt.damaged, ec.message());
  }
  auto fresh = RocksDbStore::open(directory);
  if (!fresh) return std::unexpected(fresh.error());
  auto damaged = RocksDbStore::open(rebuilt.damaged, RocksDbStore::Mode::ReadOnly);
  for (auto family : {core::Family::Meta, core::Family::Queue, core::Family::Baseline}) {
    if (!damaged) {  // nothing of it can be read: every family is lost
      rebuilt.salvage.lost.push_back(LostRange{family, "", ""});
      continue;
    }
    if (auto copied = salvageFamily(**damaged, **fresh, family, rebuilt.salvage); !copied) {
      return std::unexpected(copied.error().context("copying what is readable of the damaged database"));
    }
  }
  if (!damaged) {
    core::logger("database").error("the damaged database cannot be opened to copy what is readable: {}",
                                    damaged.error().message());
  }
  core::WriteBatch mark;
  mark.put(core::Family::Meta, kRebuiltKey, reason);
  if (auto ok = (*fresh)->write(mark); !ok) return std::unexpected(ok.error());
  if (auto ok = (*fresh)->close(); !ok) return std::unexpected(ok.error());
  return rebuilt;
}

void reportRebuilt(const Rebuilt& rebuilt, core::Health* health) {
  auto& log = core::logger("database");
  std::string lost;
  for (const auto& range : rebuilt.salvage.lost) {
    if (!lost.empty()) lost += "; ";
    lost += fmt::format("{} records after {} and before {}", core::toString(range.family), printable(range.after),
                        printable(range.before));
  }
  log.error("the damaged database was moved to {} (kept for forensics); a new one holds the {} records that could "
            "still be read{}{}. This start's scan reports every path whose record was lost with "
            "file_integrity.baseline_rebuilt; a path deleted while its record was unreadable cannot be reported",
            rebuilt.damaged, rebuilt.salvage.copied, lost.empty() ? "" : "; lost: ", lost);
  if (health) {
    health->clear(core::Health::kBaseline, "damaged");
    health->set(core::Health::kBaseline, "rebuilt", core::HealthState::Degraded,
                "the baseline was rebuilt after damage (the damaged database is " + rebuilt.damaged +
                    "); the scan that verifies the new one is running");
  }
}

core::Result<std::unique_ptr<RocksDbStore>> openVerified(const std::string& directory, core::Metrics& metrics,
                                                         core::Health* health) {
  auto store = RocksDbStore::open(directory);
  if (!store) return std::unexpected(store.error());
  auto verified = (*store)->verify();
  if (verified) return store;
  if (verified.error().code() != core::ErrorCode::Corrupt) return std::unexpected(verified.error());
  metrics.counter("baseline.corruption").add();
  core::logger("database").error("the database {} is damaged ({}): moving it aside and rebuilding the baseline",
                                 directory, verified.error().message());
  (void)(*store)->close();  // what the write-ahead log held goes to its table files, to be copied too
  store->reset();
  auto rebuilt = rebuildDatabase(directory, verified.error().message());
  if (!rebuilt) return std::unexpected(rebuilt.error().context("rebuilding the damaged baseline"));
  reportRebuilt(*rebuilt, health);
  return RocksDbStore::open(directory);
}

}  // namespace fim::baseline
