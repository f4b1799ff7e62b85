#include "watcher/file_metadata.h"

#include <acl/libacl.h>
#include <sys/acl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <type_traits>

namespace fim::watcher {
namespace {

constexpr const char* kSelinuxXattr = "security.selinux";
constexpr const char* kAclAccessXattr = "system.posix_acl_access";
constexpr std::size_t kMaxXattrSize = 64 * 1024;  // XATTR_SIZE_MAX on Linux

events::FileType typeOf(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return events::FileType::File;
    case S_IFDIR: return events::FileType::Dir;
    case S_IFLNK: return events::FileType::Symlink;
    case S_IFCHR: return events::FileType::CharDevice;
    case S_IFBLK: return events::FileType::BlockDevice;
    case S_IFIFO: return events::FileType::Fifo;
    case S_IFSOCK: return events::FileType::Socket;
    default: return events::FileType::Unknown;
  }
}

core::TimePoint toTimePoint(const timespec& ts) {
  const auto since = std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
  return core::TimePoint(std::chrono::duration_cast<core::TimePoint::duration>(since));
}

std::optional<std::string> readLink(const PathAt& at, std::size_t sizeHint) {
  std::string buffer(sizeHint > 0 ? sizeHint + 1 : PATH_MAX, '\0');
  while (true) {
    const ssize_t n = ::readlinkat(at.dir, at.name, buffer.data(), buffer.size());
    if (n < 0) return std::nullopt;
    if (static_cast<std::size_t>(n) < buffer.size()) {
      buffer.resize(static_cast<std::size_t>(n));
      return buffer;
    }
    buffer.resize(buffer.size() * 2);  // possibly truncated (the link changed since lstat): grow
  }
}

// The link's text, read relative to its directory, resolved like realpath from the link's
// directory; a dangling or unresolvable target (or one too long to resolve) is the text made
// absolute. The resolution only names the target: nothing of it is read.
std::optional<std::string> symlinkTarget(const PathAt& at, std::size_t sizeHint) {
  auto raw = readLink(at, sizeHint);
  if (!raw || raw->empty()) return raw;
  std::string target = raw->front() == '/' ? *raw : std::string(parentPath(at.path)) + "/" + *raw;
  std::unique_ptr<char, decltype(&std::free)> resolved(::realpath(target.c_str(), nullptr), &std::free);
  if (resolved) return std::string(resolved.get());
  // Lexical ".." is a best effort here: the target does not resolve, so no symlinks can be walked.
  return std::filesystem::path(target).lexically_normal().string();
}

// Where labels are read from: an open file, else an O_PATH descriptor of the path itself
// through /proc/self/fd (f*xattr refuse O_PATH descriptors; the magic link names exactly the
// object opened, a symlink itself included, whatever the length of its path).
struct LabelSource {
  int fd = -1;
  std::string proc;

  ssize_t get(const char* name, void* value, std::size_t size) const {
    return fd >= 0 ? ::fgetxattr(fd, name, value, size) : ::getxattr(proc.c_str(), name, value, size);
  }
  ssize_t list(char* names, std::size_t size) const {
    return fd >= 0 ? ::flistxattr(fd, names, size) : ::listxattr(proc.c_str(), names, size);
  }
  // Call only for non-symlinks.
  acl_t accessAcl() const { return fd >= 0 ? ::acl_get_fd(fd) : ::acl_get_file(proc.c_str(), ACL_TYPE_ACCESS); }
};

// The value of an xattr; nullopt when absent or unreadable.
std::optional<std::string> readXattr(const LabelSource& source, const char* name) {
  std::string value;
  while (true) {
    const ssize_t size = source.get(name, nullptr, 0);
    if (size < 0) return std::nullopt;  // ENODATA, ENOTSUP, EACCES...: no label to report
    value.resize(static_cast<std::size_t>(size));
    const ssize_t n = source.get(name, value.data(), value.size());
    if (n >= 0) {
      value.resize(static_cast<std::size_t>(n));
      return value;
    }
    if (errno != ERANGE || value.size() >= kMaxXattrSize) return std::nullopt;  // ERANGE: it grew; retry
  }
}

struct XattrNames {
  bool selinux = false;
  bool acl = false;
};

// Which of the labels we report exist. When the list cannot be read in full, both are tried,
// so nothing is missed.
XattrNames listXattrs(const LabelSource& source) {
  char buffer[1024];
  const ssize_t size = source.list(buffer, sizeof buffer);
  if (size < 0) return errno == ERANGE ? XattrNames{true, true} : XattrNames{};
  XattrNames names;
  for (ssize_t i = 0; i < size;) {
    const std::string_view name(buffer + i);
    if (name == kSelinuxXattr) names.selinux = true;
    if (name == kAclAccessXattr) names.acl = true;
    i += static_cast<ssize_t>(name.size()) + 1;
  }
  return names;
}

std::optional<std::string> selinuxLabel(const LabelSource& source) {
  auto label = readXattr(source, kSelinuxXattr);
  if (!label) return std::nullopt;
  while (!label->empty() && label->back() == '\0') label->pop_back();
  if (label->empty()) return std::nullopt;
  return label;
}

// The access ACL as one comma-separated line, only when it has entries beyond the mode bits.
// Call only for non-symlinks.
std::optional<std::string> accessAcl(const LabelSource& source) {
  // Cheap probe: most files carry no ACL xattr at all.
  if (source.get(kAclAccessXattr, nullptr, 0) <= 0) return std::nullopt;
  std::unique_ptr<std::remove_pointer_t<acl_t>, decltype(&acl_free)> acl(source.accessAcl(), &acl_free);
  if (!acl) return std::nullopt;
  if (::acl_equiv_mode(acl.get(), nullptr) != 1) return std::nullopt;  // 0: only the mode bits
  std::unique_ptr<char, decltype(&acl_free)> text(::acl_to_any_text(acl.get(), nullptr, ',', 0), &acl_free);
  if (!text) return std::nullopt;
  return std::string(text.get());
}

}  // namespace

core::Result<events::FileInfo> MetadataReader::read(const PathAt& at) const {
  auto info = readStat(at);
  if (info) readLabels(*info, at);
  return info;
}

void MetadataReader::readLabels(events::FileInfo& info, const PathAt& at, int fd) const {
  UniqueFd opened;
  LabelSource source{fd, {}};
  if (fd < 0) {
    opened.reset(::openat(at.dir, at.name, O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!opened) return;  // gone: no labels to report
    source.proc = "/proc/self/fd/" + std::to_string(opened.get());
  }
  // One listing tells which labels exist; most files have none, and that costs one call.
  const XattrNames names = listXattrs(source);
  if (names.acl && info.type != events::FileType::Symlink) info.acl = accessAcl(source);
  if (names.selinux) info.selinux = selinuxLabel(source);
}

core::Result<events::FileInfo> MetadataReader::readStat(const PathAt& at) const {
  struct stat st {};
  if (::fstatat(at.dir, at.name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return std::unexpected(core::errnoError("lstat " + std::string(at.path), errno));
  }
  return fromStat(at, st);
}

namespace {

// What lstat gives, the same for a FileInfo and a FileStamp.
template <typename Fields>
void fillFromStat(Fields& f, const struct stat& st) {
  f.type = typeOf(st.st_mode);
  if (f.type == events::FileType::File) f.size = static_cast<std::uint64_t>(st.st_size);
  f.inode = static_cast<std::uint64_t>(st.st_ino);
  f.device = static_cast<std::uint64_t>(st.st_dev);
  f.uid = static_cast<std::uint32_t>(st.st_uid);
  f.gid = static_cast<std::uint32_t>(st.st_gid);
  f.mode = static_cast<std::uint32_t>(st.st_mode & 07777);
  f.setuid = (st.st_mode & S_ISUID) != 0;
  f.setgid = (st.st_mode & S_ISGID) != 0;
  f.mtime = toTimePoint(st.st_mtim);
  f.ctime = toTimePoint(st.st_ctim);
}

}  // namespace

events::FileStamp stampOfStat(const struct stat& st, std::string_view owner, std::string_view group) {
  events::FileStamp s;
  fillFromStat(s, st);
  s.owner = owner;
  s.group = group;
  return s;
}

events::FileInfo MetadataReader::fromStat(const PathAt& at, const struct stat& st) const {
  events::FileInfo info;
  info.path = at.path;
  fillFromStat(info, st);
  info.owner = names_.user(info.uid);
  info.group = names_.group(info.gid);
  if (info.type == events::FileType::Symlink) {
    info.targetPath = symlinkTarget(at, static_cast<std::size_t>(st.st_size));
  }
  return info;
}

}  // namespace fim::watcher
