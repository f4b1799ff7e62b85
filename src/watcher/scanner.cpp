#include "watcher/scanner.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "core/logging.h"

namespace fim::watcher {
namespace {

core::FileType typeOf(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return core::FileType::File;
    case S_IFDIR: return core::FileType::Dir;
    case S_IFLNK: return core::FileType::Symlink;
    case S_IFCHR: return core::FileType::CharDevice;
    case S_IFBLK: return core::FileType::BlockDevice;
    case S_IFIFO: return core::FileType::Fifo;
    case S_IFSOCK: return core::FileType::Socket;
    default: return core::FileType::Unknown;
  }
}

std::string childPath(const std::string& dir, const char* name) {
  return dir == "/" ? "/" + std::string(name) : dir + "/" + name;
}

}  // namespace

core::Result<core::FileInfo> readFileInfo(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return std::unexpected(core::errnoError("lstat " + path, errno));
  core::FileInfo info;
  info.path = path;
  info.type = typeOf(st.st_mode);
  if (info.type == core::FileType::File) info.size = static_cast<std::uint64_t>(st.st_size);
  return info;
}

struct Scanner::Walk {
  std::stop_token stop;
  core::BoundedQueue<core::FileEvent>& out;
  std::size_t module;
};

Scanner::Scanner(const std::vector<config::ModuleConfig>& modules, const core::Clock& clock, core::Metrics& metrics)
    : modules_(modules),
      clock_(clock),
      paths_(metrics.counter("watcher.scan.paths")),
      errors_(metrics.counter("watcher.scan.errors")),
      backpressure_(metrics.counter("watcher.backpressure")) {
  for (const auto& m : modules_) filters_.emplace_back(m);
}

bool Scanner::emit(Walk& walk, core::FileEvent event) const {
  event.module = walk.module;
  paths_.add();
  if (walk.out.tryPush(event)) return true;
  backpressure_.add();  // the pipeline is full: wait for it rather than drop
  return walk.out.push(std::move(event), walk.stop);
}

void Scanner::scanRoot(Walk& walk, const std::string& root) const {
  const PathFilter& filter = filters_[walk.module];
  const bool recursive = modules_[walk.module].recursive;
  auto rootInfo = readFileInfo(root);
  if (!rootInfo) {
    core::logger("watcher").warn("configured path {} cannot be read: {}", root, rootInfo.error().message());
    errors_.add();
    return;
  }
  std::vector<std::string> pending;  // directories still to read
  const bool rootIsDir = rootInfo->type == core::FileType::Dir;
  if (filter.reported(root, rootIsDir)) {
    if (!emit(walk, core::FileEvent{clock_.now(), {core::Action::InitialScan}, std::move(*rootInfo), {}, 0})) return;
  }
  if (rootIsDir && !filter.excluded(root)) pending.push_back(root);

  while (!pending.empty() && !walk.stop.stop_requested()) {
    const std::string dir = std::move(pending.back());
    pending.pop_back();
    DIR* handle = ::opendir(dir.c_str());
    if (!handle) {
      errors_.add();
      core::FileEvent event{clock_.now(), {core::Action::InitialScan}, {dir, core::FileType::Dir, {}}, {}, 0};
      event.errorMessage = core::errnoError("failed to read directory " + dir, errno).message();
      if (!emit(walk, std::move(event))) break;
      continue;
    }
    while (const dirent* entry = ::readdir(handle)) {
      const std::string_view name(entry->d_name);
      if (name == "." || name == "..") continue;
      std::string path = childPath(dir, entry->d_name);
      auto info = readFileInfo(path);
      if (!info) continue;  // vanished between readdir and lstat: nothing left to report
      const bool isDir = info->type == core::FileType::Dir;  // lstat: a symlink to a dir is not followed
      if (filter.excluded(path)) continue;
      if (isDir && recursive) pending.push_back(path);
      if (!filter.reported(path, isDir)) continue;
      if (!emit(walk, core::FileEvent{clock_.now(), {core::Action::InitialScan}, std::move(*info), {}, 0})) break;
    }
    ::closedir(handle);
  }
}

void Scanner::run(std::stop_token stop, core::BoundedQueue<core::FileEvent>& out) {
  auto& log = core::logger("watcher");
  const auto started = clock_.now();
  for (std::size_t m = 0; m < modules_.size(); ++m) {
    if (!modules_[m].enabled) continue;
    Walk walk{stop, out, m};
    for (const auto& configured : modules_[m].paths) {
      if (stop.stop_requested()) return;
      std::string root = std::filesystem::absolute(configured).lexically_normal().string();
      if (root.size() > 1 && root.back() == '/') root.pop_back();
      scanRoot(walk, root);
    }
  }
  const double seconds = std::chrono::duration<double>(clock_.now() - started).count();
  log.info("initial scan done: {} paths in {:.3f} s, {} errors", paths_.value(), seconds, errors_.value());
}

}  // namespace fim::watcher
