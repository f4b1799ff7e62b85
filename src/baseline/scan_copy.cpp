#include "baseline/scan_copy.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "core/binary_codec.h"

namespace fim::baseline {
namespace {

constexpr char kMagic[8] = {'F', 'I', 'M', 'B', 'C', 'O', 'P', 'Y'};
constexpr std::uint32_t kVersion = 2;  // 1: sizes before both strings (never released)
constexpr std::size_t kHeaderSize = 64;
constexpr std::size_t kWriteBuffer = 1 << 20;
constexpr std::size_t kReleaseWindow = 1 << 20;  // mapped bytes read before they are given back
constexpr std::uintptr_t kFaultAround = 64 << 10;  // what a page fault maps around it (Linux's default)

struct Header {
  std::uint64_t sequence = 0, count = 0, payloadSize = 0, payloadChecksum = 0, identityChecksum = 0;
};

std::string encodeHeader(const Header& h) {
  core::BinaryWriter w;
  w.u32(kVersion);
  w.u32(0);
  for (auto v : {h.sequence, h.count, h.payloadSize, h.payloadChecksum, h.identityChecksum}) w.u64(v);
  std::string out = std::string(kMagic, sizeof kMagic) + w.take();
  core::BinaryWriter sum;
  sum.u64(XXH3_64bits(out.data(), out.size()));
  return out + sum.take();
}

core::Result<Header> decodeHeader(const char* at, std::size_t size) {
  if (size < kHeaderSize || std::memcmp(at, kMagic, sizeof kMagic) != 0) {
    return core::fail(core::ErrorCode::Internal, "not a scan copy");
  }
  core::BinaryReader r(std::string_view(at + sizeof kMagic, kHeaderSize - sizeof kMagic));
  if (r.u32() != kVersion) return core::fail(core::ErrorCode::Internal, "another version");
  (void)r.u32();
  Header h;
  h.sequence = r.u64();
  h.count = r.u64();
  h.payloadSize = r.u64();
  h.payloadChecksum = r.u64();
  h.identityChecksum = r.u64();
  if (r.u64() != XXH3_64bits(at, kHeaderSize - 8)) return core::fail(core::ErrorCode::Internal, "damaged header");
  return h;
}

// Writes all of `data` at `offset`; false with errno set on failure.
bool writeAll(int fd, const char* data, std::size_t size, off_t offset) {
  while (size > 0) {
    const ssize_t n = ::pwrite(fd, data, size, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
    offset += n;
  }
  return true;
}

// The payload of a new copy, written through one buffer and checksummed on the way.
class PayloadWriter {
 public:
  explicit PayloadWriter(int fd) : fd_(fd), state_(XXH3_createState()) {
    XXH3_64bits_reset(state_);
    buffer_.reserve(kWriteBuffer);
  }
  ~PayloadWriter() { XXH3_freeState(state_); }
  PayloadWriter(const PayloadWriter&) = delete;
  PayloadWriter& operator=(const PayloadWriter&) = delete;

  std::string& buffer() { return buffer_; }
  std::uint64_t written() const { return written_ + buffer_.size(); }
  // Writes the buffer out when it is full (`force`: whatever it holds).
  bool drain(bool force) {
    if (buffer_.empty() || (!force && buffer_.size() < kWriteBuffer)) return true;
    XXH3_64bits_update(state_, buffer_.data(), buffer_.size());
    if (!writeAll(fd_, buffer_.data(), buffer_.size(), static_cast<off_t>(kHeaderSize + written_))) return false;
    written_ += buffer_.size();
    buffer_.clear();
    return true;
  }
  std::uint64_t checksum() const { return XXH3_64bits_digest(state_); }

 private:
  int fd_;
  XXH3_state_t* state_;
  std::string buffer_;
  std::uint64_t written_ = 0;
};

core::Error ioError(const std::string& what, const std::string& path) {
  return core::errnoError(what + " " + path, errno);
}

// Gives the pages of a mapping back behind a forward reader, a window at a time: the copy's pages
// would otherwise all count in the agent's RSS by the end of a scan (about 260 bytes a path).
// A page given back is read again from the page cache if it is needed after all.
class PageReleaser {
 public:
  explicit PageReleaser(const ScanCopy& copy) : copy_(copy) {}
  PageReleaser(const PageReleaser&) = delete;
  PageReleaser& operator=(const PageReleaser&) = delete;
  ~PageReleaser() { release(last_); }
  // Reading goes on from `at` (a seek): what was read since the last release is given back.
  void restart(const char* at) {
    release(last_);
    from_ = last_ = at;
  }
  void advance(const char* at) {
    if (from_ == nullptr) return;
    last_ = std::max(last_, at);
    if (last_ >= from_ + kReleaseWindow) release(last_);
  }

 private:
  void release(const char* to) {
    if (from_ == nullptr || to <= from_) return;
    copy_.giveBack(from_, to);
    from_ = to;
  }

  const ScanCopy& copy_;
  const char* from_ = nullptr;
  const char* last_ = nullptr;
};

}  // namespace

class ScanCopyCursor final : public core::KvCursor {
 public:
  explicit ScanCopyCursor(std::shared_ptr<const ScanCopy> copy)
      : copy_(std::move(copy)), records_(*copy_), offsets_(*copy_) {}
  void seek(std::string_view key) override {
    std::uint64_t low = 0, high = copy_->count();
    std::vector<const char*> probes;
    while (low < high && !damaged_) {
      const std::uint64_t mid = low + (high - low) / 2;
      std::string_view k, v;
      damaged_ = !copy_->at(mid, k, v);
      probes.push_back(k.data());
      probes.push_back(copy_->offsetAt(mid));
      if (k < key) {
        low = mid + 1;
      } else {
        high = mid;
      }
    }
    position(low);
    records_.restart(key_.data());
    offsets_.restart(copy_->offsetAt(i_));
    // Each probe mapped the pages around it (the kernel's fault-around): given back unless they
    // are where reading goes on.
    for (const char* p : probes) {
      if (near(p, key_.data()) || near(p, copy_->offsetAt(i_))) continue;
      copy_->giveBackAround(p, kFaultAround);
    }
  }
  void next() override {
    position(i_ + 1);
    records_.advance(key_.data());
    offsets_.advance(copy_->offsetAt(i_));
  }
  bool valid() const override { return !damaged_ && i_ < copy_->count(); }
  std::string_view key() const override { return key_; }
  std::string_view value() const override { return value_; }
  core::Status status() const override {
    if (!damaged_) return {};
    return core::fail(core::ErrorCode::Internal, "the baseline's scan copy is damaged: a record out of bounds");
  }

 private:
  void position(std::uint64_t i) {
    i_ = i;
    if (!damaged_ && i_ < copy_->count() && copy_->at(i_, key_, value_)) return;
    damaged_ = damaged_ || i_ < copy_->count();
    key_ = value_ = {};
  }

  static bool near(const char* a, const char* b) {
    if (b == nullptr) return false;
    const auto x = reinterpret_cast<std::uintptr_t>(a), y = reinterpret_cast<std::uintptr_t>(b);
    return (x > y ? x - y : y - x) < 2 * kFaultAround;
  }

  std::shared_ptr<const ScanCopy> copy_;
  std::uint64_t i_ = UINT64_MAX;
  std::string_view key_, value_;
  bool damaged_ = false;
  PageReleaser records_, offsets_;
};

core::Status ScanCopy::write(const std::string& path, std::uint64_t sequence, std::string_view identity,
                             const Source& source) {
  const std::string temporary = path + ".new";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return std::unexpected(ioError("cannot create", temporary));
  bool ok = true;
  std::vector<std::uint64_t> offsets;
  Header header;
  {
    PayloadWriter out(fd);
    auto read = source([&](std::string_view key, std::string_view value) {
      offsets.push_back(out.written());
      core::BinaryWriter record;
      record.str(key);
      record.str(value);
      out.buffer().append(record.take());
      ok = out.drain(false);
      return ok;
    });
    if (!read) {
      ::close(fd);
      ::unlink(temporary.c_str());
      return read;
    }
    for (auto offset : offsets) {
      if (!ok) break;
      core::BinaryWriter index;
      index.u64(offset);
      out.buffer().append(index.take());
      ok = out.drain(false);
    }
    ok = ok && out.drain(true);
    header.sequence = sequence;
    header.count = offsets.size();
    header.payloadSize = out.written();
    header.payloadChecksum = out.checksum();
    header.identityChecksum = XXH3_64bits(identity.data(), identity.size());
  }
  const std::string encoded = encodeHeader(header);
  ok = ok && writeAll(fd, encoded.data(), encoded.size(), 0) && ::fdatasync(fd) == 0;
  const int error = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(temporary.c_str());
    return std::unexpected(core::errnoError("cannot write " + temporary, error));
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    auto failed = ioError("cannot rename the scan copy to", path);
    ::unlink(temporary.c_str());
    return std::unexpected(failed);
  }
  // The rename itself made durable: the directory synced.
  const std::string directory = std::filesystem::path(path).parent_path().string();
  if (const int dir = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
    (void)::fsync(dir);
    ::close(dir);
  }
  return {};
}

core::Status ScanCopy::renumber(const std::string& path, std::uint64_t sequence) {
  const int fd = ::open(path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return std::unexpected(ioError("cannot open", path));
  char at[kHeaderSize];
  core::Result<Header> header = core::fail(core::ErrorCode::Io, "short header in " + path);
  if (::pread(fd, at, sizeof at, 0) == static_cast<ssize_t>(sizeof at)) header = decodeHeader(at, sizeof at);
  if (header) header->sequence = sequence;
  const std::string encoded = header ? encodeHeader(*header) : std::string();
  const bool ok = header && writeAll(fd, encoded.data(), encoded.size(), 0) && ::fdatasync(fd) == 0;
  ::close(fd);
  if (!header) return std::unexpected(header.error());
  if (!ok) return std::unexpected(ioError("cannot update", path));
  return {};
}

core::Result<std::shared_ptr<const ScanCopy>> ScanCopy::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return std::unexpected(ioError("cannot open", path));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < static_cast<off_t>(kHeaderSize)) {
    ::close(fd);
    return core::fail(core::ErrorCode::Internal, "not a scan copy: " + path);
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return std::unexpected(ioError("cannot map", path));
  std::shared_ptr<ScanCopy> copy(new ScanCopy());
  copy->map_ = static_cast<const char*>(map);
  copy->mapSize_ = size;
  auto header = decodeHeader(copy->map_, size);
  if (!header) return std::unexpected(header.error());
  copy->sequence_ = header->sequence;
  copy->identityChecksum_ = header->identityChecksum;
  const std::uint64_t offsetsSize = header->count * sizeof(std::uint64_t);
  if (header->payloadSize != size - kHeaderSize || header->count > header->payloadSize / 16 ||
      offsetsSize > header->payloadSize) {
    return core::fail(core::ErrorCode::Internal, "damaged: sizes do not add up");
  }
  copy->payload_ = copy->map_ + kHeaderSize;
  // Checked a window at a time, each window's pages given back once read.
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  PageReleaser read(*copy);
  read.restart(copy->payload_);
  for (std::uint64_t at = 0; at < header->payloadSize; at += kReleaseWindow) {
    const std::uint64_t n = std::min<std::uint64_t>(kReleaseWindow, header->payloadSize - at);
    XXH3_64bits_update(state, copy->payload_ + at, n);
    read.advance(copy->payload_ + at + n);
  }
  const bool intact = XXH3_64bits_digest(state) == header->payloadChecksum;
  XXH3_freeState(state);
  if (!intact) return core::fail(core::ErrorCode::Internal, "damaged: checksum mismatch");
  copy->count_ = header->count;
  copy->recordsSize_ = header->payloadSize - offsetsSize;
  return std::shared_ptr<const ScanCopy>(std::move(copy));
}

void ScanCopy::giveBack(const char* from, const char* to) const {
  giveBackRange(reinterpret_cast<std::uintptr_t>(from), reinterpret_cast<std::uintptr_t>(to));
}

void ScanCopy::giveBackAround(const char* at, std::uintptr_t radius) const {
  const auto p = reinterpret_cast<std::uintptr_t>(at);
  giveBackRange(p > radius ? p - radius : 0, p + radius);
}

void ScanCopy::giveBackRange(std::uintptr_t from, std::uintptr_t to) const {
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto low = reinterpret_cast<std::uintptr_t>(map_), high = low + mapSize_;
  const auto begin = std::max(low, (from + page - 1) / page * page);
  const auto end = std::min(high, to) / page * page;
  if (end > begin) (void)::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

bool ScanCopy::describes(std::uint64_t sequence, std::string_view identity) const {
  return sequence_ == sequence && identityChecksum_ == XXH3_64bits(identity.data(), identity.size());
}

ScanCopy::~ScanCopy() {
  if (map_ != nullptr) ::munmap(const_cast<char*>(map_), mapSize_);
}

bool ScanCopy::at(std::uint64_t i, std::string_view& key, std::string_view& value) const {
  // Checked here rather than all at open, which would read every page: the checksum makes a
  // failure here a file changed under the agent, and no read goes out of bounds either way.
  const auto offset = core::BinaryReader(std::string_view(offsetAt(i), 8)).u64();
  if (offset > recordsSize_) return false;
  core::BinaryReader r(std::string_view(payload_ + offset, recordsSize_ - offset));
  key = r.strView();
  value = r.strView();
  return r.ok();
}

std::unique_ptr<core::KvCursor> ScanCopy::cursor() const {
  return std::make_unique<ScanCopyCursor>(shared_from_this());
}

}  // namespace fim::baseline
