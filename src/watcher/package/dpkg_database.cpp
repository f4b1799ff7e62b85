#include "watcher/package/dpkg_database.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <stop_token>
#include <unordered_map>

#include "watcher/package/root_aliases.h"

namespace fim::watcher::dpkg {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Splits off the next line (without its '\n').
bool nextLine(std::string_view& text, std::string_view& line) {
  if (text.empty()) return false;
  const auto nl = text.find('\n');
  line = text.substr(0, nl);
  text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
  return true;
}

// A whole file; NotFound when it does not exist.
core::Result<std::string> readFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return core::fail(core::ErrorCode::NotFound, path + " does not exist");
    return std::unexpected(core::errnoError("reading " + path, err));
  }
  std::string text;
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return std::unexpected(core::errnoError("reading " + path, err));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

void addConffileLine(StatusEntry& entry, std::string_view line) {
  // " /etc/foo.conf 0123...abcd [obsolete|remove-on-upgrade]"
  line = trim(line);
  std::vector<std::string_view> words;
  while (!line.empty()) {
    const auto space = line.find(' ');
    words.push_back(line.substr(0, space));
    line = trim(line.substr(space == std::string_view::npos ? line.size() : space));
  }
  if (words.size() < 2 || words[0].empty() || words[0][0] != '/') return;
  if (std::find(words.begin() + 2, words.end(), "obsolete") != words.end()) return;  // no longer the package's
  entry.conffiles.emplace_back(std::string(words[0]), std::string(words[1]));
}

void finishStanza(std::vector<StatusEntry>& out, StatusEntry& entry) {
  if (!entry.package.name.empty()) out.push_back(std::move(entry));
  entry = StatusEntry{};
}

class Loader {
 public:
  Loader(std::string adminDir, const std::string& rootDir, PackageScope scope, std::stop_token stop)
      : admin_(std::move(adminDir)), aliases_(rootDir), stop_(stop), snapshot_(std::move(scope)) {}

  core::Result<PackageSnapshot> load() {
    auto status = readFile(admin_ + "/status");
    if (!status) return std::unexpected(status.error().context("reading dpkg's database"));
    if (auto diversions = readFile(admin_ + "/diversions")) {
      for (auto& d : parseDiversions(*diversions)) diversions_.emplace(d.from, std::move(d));
    }
    // The updates/ journal holds entries newer than status (a transaction was interrupted):
    // applied in order, as dpkg reads them.
    std::map<std::string, StatusEntry> entries;
    for (auto& e : parseStatus(*status)) entries[e.package.name + ":" + e.package.architecture] = std::move(e);
    for (const auto& name : journalFiles()) {
      auto text = readFile(admin_ + "/updates/" + name);
      if (!text) continue;
      for (auto& e : parseStatus(*text)) entries[e.package.name + ":" + e.package.architecture] = std::move(e);
    }
    for (auto& [key, entry] : entries) {
      if (stop_.stop_requested()) return core::fail(core::ErrorCode::Unavailable, "reading dpkg's database was interrupted");
      addPackage(entry);
    }
    return std::move(snapshot_).build();
  }

 private:
  std::vector<std::string> journalFiles() const {
    std::vector<std::string> names;
    DIR* dir = ::opendir((admin_ + "/updates").c_str());
    if (!dir) return names;
    while (const dirent* entry = ::readdir(dir)) {
      const std::string_view name = entry->d_name;
      if (!name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        names.emplace_back(name);
      }
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());
    return names;
  }

  // The path fimbeat observes for a packaged path: diverted, then through top-level symlinks.
  std::string observedPath(std::string path, const std::string& package) const {
    if (auto d = diversions_.find(path); d != diversions_.end() && d->second.by != package) path = d->second.to;
    return aliases_.resolve(std::move(path));
  }

  // info/<name>:<arch>.<kind> for Multi-Arch: same packages, else info/<name>.<kind>.
  core::Result<std::string> infoFile(const InstalledPackage& p, const char* kind) const {
    auto text = readFile(admin_ + "/info/" + p.name + ":" + p.architecture + "." + kind);
    if (text || text.error().code() != core::ErrorCode::NotFound) return text;
    return readFile(admin_ + "/info/" + p.name + "." + kind);
  }

  void addPackage(const StatusEntry& entry) {
    if (entry.state == "not-installed" || entry.state.empty()) return;
    const std::uint32_t index = snapshot_.addPackage(entry.package);
    const std::string& name = entry.package.name;
    if (entry.state != "config-files") {  // else only its conffiles are left on disk
      if (auto md5sums = infoFile(entry.package, "md5sums")) {
        parseMd5sums(*md5sums, [&](std::string path, std::string_view md5) {
          snapshot_.addFile(observedPath(std::move(path), name), {index, *parseMd5(md5), false});
        });
      } else if (auto list = infoFile(entry.package, "list")) {  // no digests shipped: ownership only
        parseList(*list, [&](std::string path) { snapshot_.addFile(observedPath(std::move(path), name), {index}); });
      }
    }
    for (const auto& [path, md5] : entry.conffiles) {
      const auto digest = parseMd5(md5);  // none for a "newconffile": not yet known
      snapshot_.addFile(observedPath(path, name), {index, digest ? Digest(*digest) : Digest(), true});
    }
  }

  std::string admin_;
  RootAliases aliases_;
  std::unordered_map<std::string, Diversion> diversions_;
  std::stop_token stop_;
  PackageSnapshot::Builder snapshot_;
};

}  // namespace

std::vector<StatusEntry> parseStatus(std::string_view text) {
  std::vector<StatusEntry> out;
  StatusEntry entry;
  std::string_view field;  // the field continuation lines belong to
  std::string_view line;
  while (nextLine(text, line)) {
    if (trim(line).empty()) {
      finishStanza(out, entry);
      field = {};
      continue;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      if (field == "Conffiles") addConffileLine(entry, line);
      continue;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    field = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    if (field == "Package") {
      entry.package.name = value;
    } else if (field == "Version") {
      entry.package.version = value;
    } else if (field == "Architecture") {
      entry.package.architecture = value;
    } else if (field == "Status") {
      const auto last = value.rfind(' ');
      entry.state = value.substr(last == std::string_view::npos ? 0 : last + 1);
    }
  }
  finishStanza(out, entry);
  return out;
}

void parseMd5sums(std::string_view text, const std::function<void(std::string, std::string_view)>& line) {
  std::string_view l;
  while (nextLine(text, l)) {
    if (l.size() < 34 || !isMd5Hex(l.substr(0, 32)) || l[32] != ' ') continue;
    std::string_view path = l.substr(33);
    while (!path.empty() && (path.front() == ' ' || path.front() == '*')) path.remove_prefix(1);  // "  " or " *"
    if (path.starts_with("./")) path.remove_prefix(2);
    while (path.starts_with('/')) path.remove_prefix(1);
    if (path.empty()) continue;
    std::string absolute;  // not "/" + std::string(path): g++ 12 warns of a false -Wrestrict there
    absolute.reserve(path.size() + 1);
    absolute.append("/").append(path);
    line(std::move(absolute), l.substr(0, 32));
  }
}

void parseList(std::string_view text, const std::function<void(std::string)>& line) {
  std::string_view l;
  while (nextLine(text, l)) {
    if (l.size() > 1 && l.front() == '/' && l != "/.") line(std::string(l));
  }
}

std::vector<Diversion> parseDiversions(std::string_view text) {
  std::vector<Diversion> out;
  std::string_view from, to, by;
  while (nextLine(text, from) && nextLine(text, to) && nextLine(text, by)) {
    if (!from.empty() && !to.empty() && !by.empty()) out.push_back({std::string(from), std::string(to), std::string(by)});
  }
  return out;
}

core::Result<PackageSnapshot> loadDatabase(const std::string& adminDir, const std::string& rootDir,
                                           const PackageScope& scope, std::stop_token stop) {
  return Loader(adminDir, rootDir, scope, stop).load();
}

}  // namespace fim::watcher::dpkg
