#include "baseline/content_store.h"

#include <zlib.h>

#include <vector>

#include "core/binary_codec.h"
#include "core/logging.h"

namespace fim::baseline {
namespace {

constexpr std::uint8_t kCopyVersion = 1;

std::string pathKey(std::string_view path) {
  std::string key;
  key.reserve(path.size() + 1);
  key.push_back('p');
  key.append(path);
  return key;
}

std::string ageKey(std::uint64_t age) {
  std::string key = "a";
  for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>((age >> shift) & 0xff));
  return key;
}

std::optional<std::uint64_t> ageOf(std::string_view key) {
  if (key.size() != 9 || key.front() != 'a') return std::nullopt;
  std::uint64_t age = 0;
  for (std::size_t i = 1; i < 9; ++i) age = age << 8 | static_cast<unsigned char>(key[i]);
  return age;
}

std::string ageValue(std::uint32_t size, std::string_view path) {
  core::BinaryWriter w;
  w.u32(size);
  w.str(path);
  return w.take();
}

}  // namespace

std::string compressText(std::string_view text) {
  uLongf length = compressBound(static_cast<uLong>(text.size()));
  std::string out(length, '\0');
  if (compress2(reinterpret_cast<Bytef*>(out.data()), &length, reinterpret_cast<const Bytef*>(text.data()),
                static_cast<uLong>(text.size()), Z_DEFAULT_COMPRESSION) != Z_OK) {
    return {};
  }
  out.resize(length);
  return out;
}

core::Result<std::string> decompressText(std::string_view stream, std::uint32_t length) {
  std::string out(length, '\0');
  uLongf produced = length;
  if (uncompress(reinterpret_cast<Bytef*>(out.data()), &produced, reinterpret_cast<const Bytef*>(stream.data()),
                 static_cast<uLong>(stream.size())) != Z_OK ||
      produced != length) {
    return core::fail(core::ErrorCode::Parse, "a stored content copy does not decompress");
  }
  return out;
}

ContentStore::ContentStore(core::KvStore& store, std::uint64_t maxStorage, core::Metrics& metrics)
    : store_(store),
      maxStorage_(maxStorage),
      bytes_(metrics.gauge("baseline.diff.stored_bytes")),
      evicted_(metrics.counter("baseline.diff.evicted")),
      tooLarge_(metrics.counter("baseline.diff.too_large")) {}

core::Status ContentStore::open(const std::function<bool(std::string_view)>& keep) {
  auto format = store_.get(core::Family::Meta, kContentFormatKey);
  if (!format) return std::unexpected(format.error());
  core::WriteBatch batch;
  if (!*format || **format != std::to_string(kContentFormat)) {
    // None yet (a new database, or one from before diffs), or another format: the copies are
    // only the base of the next diff, so they go (their files' next change has no diff).
    if (*format) {
      core::logger("baseline").warn("the stored file contents are of format {}, this fimbeat reads {}: dropped; "
                                    "the next change of each diffed file has no diff",
                                    **format, kContentFormat);
    }
    batch.removeRange(core::Family::Content, "", std::string(1, '\xff'));
    batch.put(core::Family::Meta, kContentFormatKey, std::to_string(kContentFormat));
    return store_.write(batch);
  }
  total_ = 0;
  auto scanned = store_.scan(core::Family::Content, "a", [&](std::string_view key, std::string_view value) {
    const auto age = ageOf(key);
    core::BinaryReader r(value);
    const std::uint32_t size = r.u32();
    const std::string path = r.str();
    if (!age || !r.ok()) {
      batch.remove(core::Family::Content, std::string(key));
      return true;
    }
    nextAge_ = std::max(nextAge_, *age + 1);
    if (!keep(path)) {
      batch.remove(core::Family::Content, std::string(key));
      batch.remove(core::Family::Content, pathKey(path));
      return true;
    }
    total_ += size;
    return true;
  });
  if (!scanned) return scanned;
  bytes_.set(static_cast<std::int64_t>(total_));
  return batch.empty() ? core::Status{} : store_.write(batch);
}

core::Result<std::optional<ContentStore::Stored>> ContentStore::load(std::string_view path) {
  auto value = store_.get(core::Family::Content, pathKey(path));
  if (!value) return std::unexpected(value.error());
  if (!*value) return std::optional<Stored>();
  core::BinaryReader r(**value);
  Stored stored;
  const std::uint8_t version = r.u8();
  stored.age = r.u64();
  const std::uint32_t length = r.u32();
  stored.size = static_cast<std::uint32_t>((*value)->size());
  if (!r.ok() || version != kCopyVersion) return std::optional<Stored>();
  std::string_view stream(**value);
  stream.remove_prefix(1 + 8 + 4);
  auto text = decompressText(stream, length);
  if (!text) return std::optional<Stored>();  // counts as none: the next diff is skipped, the copy replaced
  stored.text = std::move(*text);
  return std::optional<Stored>(std::move(stored));
}

void ContentStore::put(core::WriteBatch& batch, std::string_view path, std::string_view text,
                       const std::optional<Stored>& previous) {
  if (previous) remove(batch, path, *previous);
  core::BinaryWriter w;
  w.u8(kCopyVersion);
  const std::uint64_t age = nextAge_++;
  w.u64(age);
  w.u32(static_cast<std::uint32_t>(text.size()));
  std::string value = w.take() + compressText(text);
  const auto size = static_cast<std::uint32_t>(value.size());
  if (size > maxStorage_) {  // would push out everything else and still not fit
    tooLarge_.add();
    return;
  }
  makeRoom(batch, size);
  stage(batch, std::string(path), std::move(value), age, size);
}

void ContentStore::stage(core::WriteBatch& batch, const std::string& path, std::string value, std::uint64_t age,
                         std::uint32_t size) {
  batch.put(core::Family::Content, pathKey(path), std::move(value));
  batch.put(core::Family::Content, ageKey(age), ageValue(size, path));
  total_ += size;
  bytes_.set(static_cast<std::int64_t>(total_));
}

void ContentStore::remove(core::WriteBatch& batch, std::string_view path, const Stored& previous) {
  if (!droppedAges_.insert(previous.age).second) return;  // already dropped in this batch
  batch.remove(core::Family::Content, pathKey(path));
  batch.remove(core::Family::Content, ageKey(previous.age));
  total_ -= std::min<std::uint64_t>(total_, previous.size);
  bytes_.set(static_cast<std::int64_t>(total_));
}

// The oldest written copies go until `needed` more bytes fit. Copies staged in this batch are not
// seen yet: they can only go in a later batch.
void ContentStore::makeRoom(core::WriteBatch& batch, std::uint64_t needed) {
  if (total_ + needed <= maxStorage_) return;
  auto cursor = store_.cursor(core::Family::Content);
  for (cursor->seek("a"); cursor->valid() && total_ + needed > maxStorage_; cursor->next()) {
    const auto age = ageOf(cursor->key());
    if (!age) break;  // past the age keys
    if (droppedAges_.count(*age)) continue;
    core::BinaryReader r(cursor->value());
    Stored oldest;
    oldest.age = *age;
    oldest.size = r.u32();
    const std::string path = r.str();
    if (!r.ok()) continue;
    remove(batch, path, oldest);
    evicted_.add();
  }
}

core::Status ContentStore::removeTree(core::WriteBatch& batch, std::string_view path) {
  std::vector<std::pair<std::string, Stored>> found;
  const std::string prefix = pathKey(path);
  auto scanned = store_.scan(core::Family::Content, prefix, [&](std::string_view key, std::string_view value) {
    const std::string_view rest = key.substr(prefix.size());
    if (!rest.empty() && rest.front() != '/') return true;  // "/a/bc" is not under "/a/b"
    core::BinaryReader r(value);
    (void)r.u8();
    Stored s;
    s.age = r.u64();
    s.size = static_cast<std::uint32_t>(value.size());
    found.emplace_back(std::string(key.substr(1)), std::move(s));
    return true;
  });
  if (!scanned) return scanned;
  for (const auto& [p, s] : found) remove(batch, p, s);
  return {};
}

core::Status ContentStore::moveTree(core::WriteBatch& batch, std::string_view from, std::string_view to) {
  std::vector<std::tuple<std::string, std::string, Stored>> found;  // path, value, what it was
  const std::string prefix = pathKey(from);
  auto scanned = store_.scan(core::Family::Content, prefix, [&](std::string_view key, std::string_view value) {
    const std::string_view rest = key.substr(prefix.size());
    if (!rest.empty() && rest.front() != '/') return true;
    core::BinaryReader r(value);
    (void)r.u8();
    Stored s;
    s.age = r.u64();
    s.size = static_cast<std::uint32_t>(value.size());
    found.emplace_back(std::string(key.substr(1)), std::string(value), std::move(s));
    return true;
  });
  if (!scanned) return scanned;
  for (auto& [path, value, stored] : found) {
    remove(batch, path, stored);
    const std::string moved = std::string(to) + path.substr(from.size());
    // Same content and age under the new path.
    batch.put(core::Family::Content, pathKey(moved), std::move(value));
    batch.put(core::Family::Content, ageKey(stored.age), ageValue(stored.size, moved));
    droppedAges_.erase(stored.age);
    total_ += stored.size;
  }
  bytes_.set(static_cast<std::int64_t>(total_));
  return {};
}

}  // namespace fim::baseline
