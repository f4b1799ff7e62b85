#include "watcher/name_cache.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <vector>

namespace fim::watcher {
namespace {

constexpr std::size_t kFallbackBufferSize = 1024;
constexpr std::size_t kMaxBufferSize = 1 << 20;  // a sane cap so a broken NSS module cannot make us loop

std::size_t initialBufferSize(int sysconfName) {
  const long size = ::sysconf(sysconfName);
  return size > 0 ? static_cast<std::size_t>(size) : kFallbackBufferSize;
}

// get*_r reports "no such id" as 0 with a null result or, depending on the NSS module, as one of these.
bool meansNoEntry(int err) { return err == 0 || err == ENOENT || err == ESRCH || err == EBADF || err == EPERM; }

// Calls a get*_r function, growing the buffer on ERANGE. "" when the id has no entry;
// nullopt when the lookup itself failed (EIO, EMFILE, ...) so the caller does not cache it.
template <typename Entry, typename Lookup, typename NameOf>
std::optional<std::string> lookupName(int sysconfName, Lookup lookup, NameOf nameOf) {
  std::vector<char> buffer(initialBufferSize(sysconfName));
  while (true) {
    Entry entry{};
    Entry* found = nullptr;
    const int err = lookup(&entry, buffer.data(), buffer.size(), &found);
    if (err == ERANGE && buffer.size() < kMaxBufferSize) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (err == EINTR) continue;
    if (found != nullptr && err == 0) return nameOf(*found);
    if (meansNoEntry(err)) return std::string();
    return std::nullopt;
  }
}

}  // namespace

std::string NameCache::user(std::uint32_t uid) {
  std::lock_guard lock(mutex_);
  if (auto it = users_.find(uid); it != users_.end()) return it->second;
  std::optional<std::string> name = lookupName<passwd>(
      _SC_GETPW_R_SIZE_MAX,
      [uid](passwd* entry, char* buf, std::size_t len, passwd** found) {
        return ::getpwuid_r(static_cast<uid_t>(uid), entry, buf, len, found);
      },
      [](const passwd& entry) { return std::string(entry.pw_name ? entry.pw_name : ""); });
  if (!name) return "";  // transient failure: try again next time
  users_.emplace(uid, *name);
  return *name;
}

std::string NameCache::group(std::uint32_t gid) {
  std::lock_guard lock(mutex_);
  if (auto it = groups_.find(gid); it != groups_.end()) return it->second;
  std::optional<std::string> name = lookupName<struct group>(
      _SC_GETGR_R_SIZE_MAX,
      [gid](struct group* entry, char* buf, std::size_t len, struct group** found) {
        return ::getgrgid_r(static_cast<gid_t>(gid), entry, buf, len, found);
      },
      [](const struct group& entry) { return std::string(entry.gr_name ? entry.gr_name : ""); });
  if (!name) return "";
  groups_.emplace(gid, *name);
  return *name;
}

}  // namespace fim::watcher
