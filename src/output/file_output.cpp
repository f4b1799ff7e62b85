#include "output/file_output.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <limits>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace fim::output {
namespace {

constexpr mode_t kDirectoryMode = 0750;
constexpr std::string_view kExtension = ".ndjson";
constexpr int kMaxCreateAttempts = 1000;  // bounds the EEXIST loop if others create files under our names

// One file of this output: <filename>-<date>[-<index>].ndjson, index 0 meaning no suffix.
struct NamedFile {
  std::string date;  // YYYYMMDD, so string order is date order
  std::uint64_t index = 0;
  std::filesystem::path path;

  bool operator<(const NamedFile& other) const {
    return date != other.date ? date < other.date : index < other.index;
  }
};

// The failed system call's errno, read before anything can clobber it, as an Error "action path: text".
std::unexpected<core::Error> osError(std::string_view action, const std::filesystem::path& path) {
  const int err = errno;
  return std::unexpected(core::errnoError(fmt::format("{} {}", action, path.string()), err));
}

bool allDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Parses a directory entry name; nullopt for anything that is not exactly this output's pattern.
std::optional<NamedFile> parseName(std::string_view name, std::string_view filename) {
  if (name.size() <= filename.size() + 1 || !name.starts_with(filename) || name[filename.size()] != '-' ||
      !name.ends_with(kExtension)) {
    return std::nullopt;
  }
  std::string_view rest = name.substr(filename.size() + 1);
  rest.remove_suffix(kExtension.size());
  if (rest.size() < 8 || !allDigits(rest.substr(0, 8))) return std::nullopt;
  NamedFile file{std::string(rest.substr(0, 8)), 0, {}};
  if (rest.size() == 8) return file;
  std::string_view index = rest.substr(9);
  // Canonical indexes only (1, 2, ...): "-0" or "-01" are someone else's files.
  if (rest[8] != '-' || !allDigits(index) || index.front() == '0') return std::nullopt;
  auto [end, ec] = std::from_chars(index.data(), index.data() + index.size(), file.index);
  if (ec != std::errc() || end != index.data() + index.size()) return std::nullopt;
  return file;
}

// This output's regular files in the directory, oldest first.
core::Result<std::vector<NamedFile>> listFiles(const std::filesystem::path& directory, const std::string& filename) {
  std::vector<NamedFile> files;
  std::error_code ec;
  std::filesystem::directory_iterator it(directory, ec);
  for (; !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    auto parsed = parseName(it->path().filename().string(), filename);
    if (!parsed) continue;
    std::error_code statEc;
    if (it->symlink_status(statEc).type() != std::filesystem::file_type::regular) continue;
    parsed->path = it->path();
    files.push_back(std::move(*parsed));
  }
  if (ec) return std::unexpected(core::errnoError("listing " + directory.string(), ec.value()));
  std::sort(files.begin(), files.end());
  return files;
}

std::string utcDate(core::TimePoint now) {
  const std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(now)};
  return fmt::format("{:04}{:02}{:02}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day()));
}

std::string fileName(const std::string& filename, const std::string& date, std::uint64_t index) {
  if (index == 0) return fmt::format("{}-{}{}", filename, date, kExtension);
  return fmt::format("{}-{}-{}{}", filename, date, index, kExtension);
}

// mkdir -p with mode 0750 for every directory it creates, whatever the umask.
core::Status ensureDirectory(const std::filesystem::path& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return {};
    return std::unexpected(core::errnoError("creating output directory " + dir.string(), ENOTDIR));
  }
  if (errno != ENOENT) return osError("checking output directory", dir);
  const std::filesystem::path parent = dir.parent_path();
  if (!parent.empty() && parent != dir) {
    if (auto status = ensureDirectory(parent); !status) return status;
  }
  if (::mkdir(dir.c_str(), kDirectoryMode) != 0) {
    const int err = errno;
    if (err == EEXIST && ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return {};  // lost a race
    return std::unexpected(core::errnoError("creating output directory " + dir.string(), err));
  }
  if (::chmod(dir.c_str(), kDirectoryMode) != 0) {
    return osError("setting permissions of", dir);
  }
  return {};
}

// Opens for appending and sets exactly `permissions` (fchmod, so the umask does not matter).
// openErrno receives open(2)'s errno so callers can react to EEXIST.
core::Result<int> openForAppend(const std::filesystem::path& file, int extraFlags, unsigned permissions,
                                int* openErrno = nullptr) {
  int fd = -1;
  do {
    fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | extraFlags,
                static_cast<mode_t>(permissions));
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    const int err = errno;
    if (openErrno != nullptr) *openErrno = err;
    return std::unexpected(core::errnoError("opening " + file.string(), err));
  }
  if (::fchmod(fd, static_cast<mode_t>(permissions)) != 0) {
    const int err = errno;
    ::close(fd);
    return std::unexpected(core::errnoError("setting permissions of " + file.string(), err));
  }
  return fd;
}

core::Status validate(const config::FileOutputConfig& config) {
  if (config.path.empty()) return core::fail(core::ErrorCode::InvalidArgument, "output.file.path is empty");
  if (config.filename.empty() || config.filename == "." || config.filename == ".." ||
      config.filename.find('/') != std::string::npos) {
    return core::failf(core::ErrorCode::InvalidArgument, "output.file.filename '{}' is not a plain file name",
                       config.filename);
  }
  if (config.rotateEveryKb == 0) {
    return core::fail(core::ErrorCode::InvalidArgument, "output.file.rotate_every_kb must be at least 1");
  }
  if (config.numberOfFiles < 1) {
    return core::failf(core::ErrorCode::InvalidArgument, "output.file.number_of_files must be at least 1, got {}",
                       config.numberOfFiles);
  }
  if (config.permissions > 07777) {
    return core::failf(core::ErrorCode::InvalidArgument, "output.file.permissions {:o} is not a file mode",
                       config.permissions);
  }
  return {};
}

}  // namespace

FileOutput::FileOutput(const config::FileOutputConfig& config, const core::Clock& clock)
    : config_(config),
      clock_(clock),
      directory_(config.path),
      rotateBytes_(config.rotateEveryKb > std::numeric_limits<std::uint64_t>::max() / 1024
                       ? std::numeric_limits<std::uint64_t>::max()
                       : config.rotateEveryKb * 1024) {}

FileOutput::~FileOutput() {
  if (fd_ >= 0) ::close(fd_);  // close() was not called: release the descriptor, write nothing
}

core::Status FileOutput::close() {
  if (fd_ < 0) return {};  // closed already
  auto flushed = flush();
  auto closed = closeCurrent(false);
  return flushed ? closed : flushed;
}

core::Result<std::unique_ptr<FileOutput>> FileOutput::open(const config::FileOutputConfig& config,
                                                           const core::Clock& clock) {
  if (auto status = validate(config); !status) return std::unexpected(status.error());
  std::unique_ptr<FileOutput> output(new FileOutput(config, clock));
  if (auto status = ensureDirectory(output->directory_); !status) return std::unexpected(status.error());

  if (!config.rotateOnStartup) {
    auto files = listFiles(output->directory_, config.filename);
    if (!files) return std::unexpected(files.error());
    if (!files->empty()) {
      if (auto status = output->openExistingFile(files->back().path); !status) return std::unexpected(status.error());
      if (auto status = output->prune(); !status) return std::unexpected(status.error());
      return output;
    }
  }
  if (auto status = output->rotate(); !status) return std::unexpected(status.error());
  return output;
}

core::Result<WriteOutcome> FileOutput::write(std::span<const events::EncodedEvent> events, std::stop_token) {
  if (events.empty()) return WriteOutcome{};
  if (fd_ < 0) return core::fail(core::ErrorCode::Internal, "file output has no open file");
  std::size_t total = 0;
  for (const auto& event : events) total += event.json.size() + 1;
  std::string chunk;
  chunk.reserve(total);
  for (const auto& event : events) {
    const std::string& doc = event.json;
    const std::uint64_t before = currentSize_ + chunk.size();
    // Rotate before this line would cross the limit; an oversized line still goes to a fresh file.
    if (before > 0 && doc.size() + 1 > rotateBytes_ - std::min(before, rotateBytes_)) {
      if (!chunk.empty()) {
        if (auto status = writeChunk(chunk); !status) return std::unexpected(status.error());
        chunk.clear();
      }
      if (auto status = rotate(); !status) return std::unexpected(status.error());
    }
    chunk.append(doc);
    chunk.push_back('\n');
  }
  if (auto status = writeChunk(chunk); !status) return std::unexpected(status.error());
  return WriteOutcome{.acked = events.size()};
}

core::Status FileOutput::flush() {
  if (fd_ < 0) return core::fail(core::ErrorCode::Internal, "file output has no open file");
  if (::fdatasync(fd_) != 0) return osError("syncing", currentFile_);
  if (directoryDirty_) {
    // New files are only durable once their directory entry is.
    const int dirFd = ::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirFd < 0) return osError("opening", directory_);
    const int rc = ::fsync(dirFd);
    const int err = errno;
    ::close(dirFd);
    if (rc != 0) return std::unexpected(core::errnoError("syncing " + directory_.string(), err));
    directoryDirty_ = false;
  }
  return {};
}

std::string FileOutput::describe() const {
  return fmt::format("file output writing to {}", currentFile_.string());
}

core::Status FileOutput::openNewFile() {
  auto files = listFiles(directory_, config_.filename);
  if (!files) return std::unexpected(files.error());
  const std::string date = utcDate(clock_.now());
  std::uint64_t index = 0;
  for (const auto& file : *files) {
    if (file.date == date) index = std::max(index, file.index + 1);
  }
  for (int attempt = 0; attempt < kMaxCreateAttempts; ++attempt, ++index) {
    const std::filesystem::path path = directory_ / fileName(config_.filename, date, index);
    int openErrno = 0;
    // O_EXCL: a new file is really new, never someone else's file we would append to.
    auto fd = openForAppend(path, O_EXCL, config_.permissions, &openErrno);
    if (!fd) {
      if (openErrno == EEXIST) continue;
      return std::unexpected(fd.error());
    }
    // The old file's data must be durable before we stop tracking it; switch files either way.
    core::Status synced = closeCurrent(true);
    fd_ = *fd;
    currentFile_ = path;
    currentSize_ = 0;
    directoryDirty_ = true;
    return synced;
  }
  return core::failf(core::ErrorCode::Io, "no free file name for {} in {} after {} attempts", config_.filename,
                     directory_.string(), kMaxCreateAttempts);
}

core::Status FileOutput::openExistingFile(const std::filesystem::path& file) {
  auto fd = openForAppend(file, 0, config_.permissions);
  if (!fd) return std::unexpected(fd.error());
  struct stat st {};
  if (::fstat(*fd, &st) != 0) {
    const int err = errno;
    ::close(*fd);
    return std::unexpected(core::errnoError("checking size of " + file.string(), err));
  }
  fd_ = *fd;
  currentFile_ = file;
  currentSize_ = static_cast<std::uint64_t>(st.st_size);
  return {};
}

core::Status FileOutput::rotate() {
  if (auto status = openNewFile(); !status) return status;
  return prune();
}

core::Status FileOutput::prune() const {
  auto files = listFiles(directory_, config_.filename);
  if (!files) return std::unexpected(files.error());
  // Never delete the file being written, even if a clock step made it sort as old.
  std::erase_if(*files, [&](const NamedFile& file) { return file.path.filename() == currentFile_.filename(); });
  const std::size_t keepOthers = static_cast<std::size_t>(config_.numberOfFiles) - 1;
  if (files->size() <= keepOthers) return {};
  const std::size_t excess = files->size() - keepOthers;
  for (std::size_t i = 0; i < excess; ++i) {
    const auto& path = (*files)[i].path;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return osError("removing old output file", path);
  }
  return {};
}

core::Status FileOutput::writeChunk(const std::string& chunk) {
  const std::uint64_t start = currentSize_;
  std::size_t done = 0;
  while (done < chunk.size()) {
    const ssize_t n = ::write(fd_, chunk.data() + done, chunk.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      // Drop a torn tail so the next append starts on a line boundary; the caller retries the batch.
      if (done > 0 && ::ftruncate(fd_, static_cast<off_t>(start)) != 0) currentSize_ = start + done;
      return std::unexpected(core::errnoError("writing to " + currentFile_.string(), err));
    }
    done += static_cast<std::size_t>(n);
  }
  currentSize_ = start + chunk.size();
  return {};
}

core::Status FileOutput::closeCurrent(bool sync) {
  if (fd_ < 0) return {};
  const int fd = std::exchange(fd_, -1);
  int err = 0;
  if (sync && ::fdatasync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0 && errno != EINTR) err = errno;
  if (err != 0) return std::unexpected(core::errnoError("closing " + currentFile_.string(), err));
  return {};
}

}  // namespace fim::output
