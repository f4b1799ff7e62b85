// The pieces of the fanotify backend that need no fanotify group: the root filter, the event
// parser on hand-made buffers, and the directory handle resolver on handles from name_to_handle_at.
#include <doctest/doctest.h>

#include "support/skip.h"

#include <fcntl.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "support/temp_dir.h"
#include "watcher/fanotify/directory_resolver.h"
#include "watcher/fanotify/fanotify_event.h"
#include "watcher/fanotify/root_matcher.h"

using namespace fim;
using namespace fim::watcher::fanotify;
using fim::testing::TempDir;

namespace {

config::ModuleConfig module(std::vector<std::string> excludes = {}, std::vector<std::string> includes = {}) {
  config::ModuleConfig m;
  m.excludeFiles = std::move(excludes);
  m.includeFiles = std::move(includes);
  return m;
}

// A fanotify event as the kernel lays it out: metadata, then info records padded to 4 bytes.
class EventBuilder {
 public:
  EventBuilder(std::uint64_t mask, std::int32_t pid) : mask_(mask), pid_(pid) {}

  EventBuilder& fid(std::uint8_t type, std::uint32_t fsidHigh, std::uint32_t fsidLow, std::string handleBytes,
                    std::string name = "", bool named = false) {
    std::string record(sizeof(fanotify_event_info_header), '\0');
    const std::int32_t fsid[2] = {static_cast<std::int32_t>(fsidHigh), static_cast<std::int32_t>(fsidLow)};
    record.append(reinterpret_cast<const char*>(fsid), sizeof(fsid));
    const std::uint32_t bytes = static_cast<std::uint32_t>(handleBytes.size());
    const std::int32_t handleType = 1;
    record.append(reinterpret_cast<const char*>(&bytes), sizeof(bytes));
    record.append(reinterpret_cast<const char*>(&handleType), sizeof(handleType));
    record += handleBytes;
    if (named) record += name + '\0';
    while (record.size() % 4) record += '\0';
    fanotify_event_info_header header{type, 0, static_cast<std::uint16_t>(record.size())};
    std::memcpy(record.data(), &header, sizeof(header));
    records_ += record;
    return *this;
  }

  std::string build(std::uint8_t version = FANOTIFY_METADATA_VERSION) const {
    fanotify_event_metadata meta{};
    meta.event_len = static_cast<std::uint32_t>(sizeof(meta) + records_.size());
    meta.vers = version;
    meta.metadata_len = sizeof(meta);
    meta.mask = mask_;
    meta.fd = FAN_NOFD;
    meta.pid = pid_;
    return std::string(reinterpret_cast<const char*>(&meta), sizeof(meta)) + records_;
  }

 private:
  std::uint64_t mask_;
  std::int32_t pid_;
  std::string records_;
};

std::vector<Event> parseAll(const std::string& buffer, std::size_t* malformed = nullptr) {
  std::vector<Event> events;
  const std::size_t bad = parseEvents(std::span<const char>(buffer.data(), buffer.size()),
                                      [&](const Event& e) { events.push_back(e); });
  if (malformed) *malformed = bad;
  return events;
}

// A FileId for `path` as fanotify would report it, from name_to_handle_at and statfs.
struct HandleOf {
  explicit HandleOf(const std::string& path) {
    std::vector<char> buffer(sizeof(file_handle) + MAX_HANDLE_SZ);
    auto* handle = reinterpret_cast<file_handle*>(buffer.data());
    handle->handle_bytes = MAX_HANDLE_SZ;
    int mountId = 0;
    ok = ::name_to_handle_at(AT_FDCWD, path.c_str(), handle, &mountId, 0) == 0;
    bytes.assign(buffer.data(), sizeof(file_handle) + handle->handle_bytes);
    struct statfs fs {};
    ok = ok && ::statfs(path.c_str(), &fs) == 0;
    fsid = fsidOf(&fs.f_fsid);
    type = static_cast<long>(fs.f_type);
  }
  FileId id() const { return FileId{fsid, bytes, "."}; }
  bool ok = false;
  std::string bytes;
  std::uint64_t fsid = 0;
  long type = 0;
};

}  // namespace

TEST_CASE("root matcher: recursion, nested roots, excludes on the path and its directories, includes") {
  const std::vector<config::ModuleConfig> modules{module({"/cache$", R"(\.swp$)"}), module({}, {R"(\.conf$)"})};
  const std::vector<watcher::Root> roots{{"/data", 0, true}, {"/etc", 1, false}, {"/etc/ssh", 1, true}};
  const RootMatcher matcher(roots, modules);
  CHECK(matcher.match("/data", true) == 0u);
  CHECK(matcher.match("/data/a/b/c.txt", false) == 0u);
  CHECK_FALSE(matcher.match("/database/x", false));
  CHECK_FALSE(matcher.match("/", true));
  CHECK_FALSE(matcher.match("/data/x.swp", false));
  // An excluded directory is never entered: nothing below it, whatever the pattern's anchor.
  CHECK_FALSE(matcher.match("/data/cache", true));
  CHECK_FALSE(matcher.match("/data/cache/f", false));
  CHECK_FALSE(matcher.match("/data/a/cache/b/f", false));
  CHECK(matcher.match("/data/cachex/f", false) == 0u);
  // Non-recursive: the root and its direct children; includes pick files, directories pass.
  CHECK(matcher.match("/etc", true) == 1u);
  CHECK(matcher.match("/etc/app.conf", false) == 1u);
  CHECK_FALSE(matcher.match("/etc/passwd", false));
  CHECK(matcher.match("/etc/nginx", true) == 1u);
  CHECK_FALSE(matcher.match("/etc/nginx/nginx.conf", false));
  // The deeper root decides below it.
  CHECK(matcher.match("/etc/ssh/sshd_config.d/x.conf", false) == 2u);
  CHECK(matcher.match("/etc/ssh", true) == 2u);
}

TEST_CASE("root matcher: the whole filesystem as a root, and an excluded root") {
  const std::vector<config::ModuleConfig> modules{module({"^/proc($|/)", "^/srv/skip$"})};
  const RootMatcher everything({{"/", 0, true}}, modules);
  CHECK(everything.match("/", true) == 0u);
  CHECK(everything.match("/usr/bin/ls", false) == 0u);
  CHECK_FALSE(everything.match("/proc/1/status", false));
  const RootMatcher skipped({{"/srv/skip", 0, true}}, modules);
  CHECK_FALSE(skipped.match("/srv/skip", true));
  CHECK_FALSE(skipped.match("/srv/skip/f", false));
}

TEST_CASE("parentOf") {
  CHECK(parentOf("/a/b/c") == "/a/b");
  CHECK(parentOf("/a") == "/");
  CHECK(parentOf("/") == "/");
  CHECK(parentOf("relative") == "");
}

TEST_CASE("event parser: metadata and fid records, including FAN_RENAME's two directories") {
  const std::string create = EventBuilder(FAN_CREATE | FAN_ONDIR, 42)
                                 .fid(FAN_EVENT_INFO_TYPE_DFID_NAME, 1, 2, "ABCDEFGH", "newdir", true)
                                 .fid(FAN_EVENT_INFO_TYPE_FID, 1, 2, "IJKLMNOP")
                                 .build();
  const std::string rename = EventBuilder(FAN_RENAME, 7)
                                 .fid(FAN_EVENT_INFO_TYPE_OLD_DFID_NAME, 1, 2, "OLDDIR00", "a", true)
                                 .fid(FAN_EVENT_INFO_TYPE_NEW_DFID_NAME, 1, 2, "NEWDIR00", "b.txt", true)
                                 .build();
  std::size_t malformed = 99;
  const std::string buffer = create + rename;  // events are views into it
  const std::vector<Event> events = parseAll(buffer, &malformed);
  CHECK(malformed == 0);
  REQUIRE(events.size() == 2);
  CHECK(events[0].mask == (FAN_CREATE | FAN_ONDIR));
  CHECK(events[0].pid == 42);
  CHECK(events[0].fd == FAN_NOFD);
  REQUIRE(events[0].dir.has_value());
  CHECK(events[0].dir->name == "newdir");
  CHECK(events[0].dir->fsid == ((1ull << 32) | 2));
  CHECK(events[0].dir->handle.size() == sizeof(file_handle) + 8);
  CHECK(events[0].dir->handle.substr(sizeof(file_handle)) == "ABCDEFGH");
  REQUIRE(events[0].object.has_value());
  CHECK(events[0].object->handle.ends_with("IJKLMNOP"));
  CHECK(events[0].dir->key() != events[0].object->key());
  CHECK_FALSE(events[0].oldDir.has_value());
  REQUIRE(events[1].oldDir.has_value());
  REQUIRE(events[1].newDir.has_value());
  CHECK(events[1].oldDir->name == "a");
  CHECK(events[1].newDir->name == "b.txt");
  CHECK_FALSE(events[1].dir.has_value());
}

TEST_CASE("event parser: malformed events are counted and skipped") {
  const std::string good = EventBuilder(FAN_MODIFY, 1).fid(FAN_EVENT_INFO_TYPE_DFID_NAME, 0, 1, "HANDLE01", "f", true).build();
  std::size_t malformed = 0;
  // Another metadata version: skipped, the next event still read.
  CHECK(parseAll(EventBuilder(FAN_MODIFY, 1).build(2) + good, &malformed).size() == 1);
  CHECK(malformed == 1);
  // A record whose handle runs past its end.
  std::string overlong = good;
  const std::uint32_t tooMany = 200;
  std::memcpy(overlong.data() + sizeof(fanotify_event_metadata) + sizeof(fanotify_event_info_header) + 8, &tooMany,
              sizeof(tooMany));
  CHECK(parseAll(overlong + good, &malformed).size() == 1);
  CHECK(malformed == 1);
  // A name without its terminating NUL.
  std::string unterminated = good;
  std::replace(unterminated.end() - 4, unterminated.end(), '\0', 'x');
  CHECK(parseAll(unterminated, &malformed).empty());
  CHECK(malformed == 1);
  // A buffer cut in the middle of an event: nothing after it can be found.
  CHECK(parseAll(good + good.substr(0, good.size() - 4), &malformed).size() == 1);
  CHECK(malformed == 1);
}

TEST_CASE("directory resolver: handles to paths, cached until forgotten with everything below") {
  TempDir root;
  std::filesystem::create_directories(root.path() / "a" / "b");
  const HandleOf a(root.str() + "/a");
  const HandleOf b(root.str() + "/a/b");
  REQUIRE(a.ok);
  REQUIRE(b.ok);
  DirectoryResolver resolver;
  REQUIRE(resolver.addFilesystem(a.fsid, root.str(), a.type).has_value());
  const auto first = resolver.directory(b.id());
  if (!first && resolver.failures() > 0 && ::geteuid() != 0) {
    FIM_SKIP("open_by_handle_at needs CAP_DAC_READ_SEARCH");
  }
  CHECK(first == root.str() + "/a/b");
  CHECK(resolver.directory(a.id()) == root.str() + "/a");
  CHECK(resolver.lookups() == 2);
  std::filesystem::rename(root.path() / "a", root.path() / "c");
  CHECK(resolver.directory(b.id()) == root.str() + "/a/b");  // cached: the rename was not reported
  CHECK(resolver.lookups() == 2);
  resolver.forget(root.str() + "/a");
  CHECK(resolver.size() == 0);
  CHECK(resolver.directory(b.id()) == root.str() + "/c/b");
  CHECK(resolver.lookups() == 3);
  // A forgotten prefix is a path, not a string: /c does not cover /cx.
  std::filesystem::create_directories(root.path() / "cx");
  const HandleOf cx(root.str() + "/cx");
  CHECK(resolver.directory(cx.id()) == root.str() + "/cx");
  resolver.forget(root.str() + "/c");
  CHECK(resolver.size() == 1);
  // Deleted: no path at all.
  std::filesystem::remove_all(root.path() / "c");
  resolver.forget(root.str() + "/c");
  const auto deleted = resolver.directory(b.id());
  REQUIRE_FALSE(deleted.has_value());
  CHECK((deleted.error().code() == core::ErrorCode::NotFound));  // gone: nothing hidden, no rescan
  CHECK(resolver.failures() == 1);
  // An unknown filesystem resolves nothing, and that is a blind spot, not a deletion.
  FileId stranger = cx.id();
  stranger.fsid ^= 1;
  const auto unknown = resolver.directory(stranger);
  REQUIRE_FALSE(unknown.has_value());
  CHECK((unknown.error().code() != core::ErrorCode::NotFound));
}

TEST_CASE("directory resolver: the inode of a handle, readable even after the file is gone") {
  TempDir root;
  const std::string file = root.write("f", "x");
  const HandleOf handle(file);
  REQUIRE(handle.ok);
  DirectoryResolver resolver;
  REQUIRE(resolver.addFilesystem(handle.fsid, root.str(), handle.type).has_value());
  struct stat st {};
  REQUIRE(::lstat(file.c_str(), &st) == 0);
  CHECK(resolver.inode(handle.id()) == st.st_ino);
  std::filesystem::remove(file);
  const auto afterwards = resolver.inode(handle.id());
  if (handle.type == 0xEF53) CHECK(afterwards == st.st_ino);  // ext4 handles carry the inode number
}
