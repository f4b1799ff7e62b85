#include <doctest/doctest.h>

#include "support/skip.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/acl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <thread>
#include <vector>

#include "support/path_at.h"
#include "support/temp_dir.h"
#include "watcher/file_metadata.h"
#include "watcher/mime_detector.h"
#include "watcher/name_cache.h"

using namespace fim;
using fim::testing::TempDir;

namespace {

constexpr std::uint32_t kUnusedId = 4000000000u;

struct stat lstatOf(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st;
}

std::string expectedUser(uid_t uid) {
  const passwd* pw = ::getpwuid(uid);
  return pw ? pw->pw_name : "";
}

std::string expectedGroup(gid_t gid) {
  const group* gr = ::getgrgid(gid);
  return gr ? gr->gr_name : "";
}

// Compared as text: doctest finds fim::core::toString by ADL and cannot stringify the enums.
std::string typeName(const events::FileInfo& info) { return events::toString(info.type); }
std::string codeName(const core::Error& error) { return core::toString(error.code()); }

events::FileInfo readOk(const std::string& path) {
  watcher::NameCache names;
  watcher::MetadataReader reader(names);
  auto info = reader.read(testing::locate(path).at());
  REQUIRE_MESSAGE(info.has_value(), (info ? "" : info.error().message()));
  return *info;
}

}  // namespace

TEST_CASE("metadata: regular file has size, mode, inode, device, names and exact mtime" *
          doctest::test_suite("metadata")) {
  TempDir dir;
  const std::string path = dir.write("a/file.txt", "0123456789");
  REQUIRE(::chmod(path.c_str(), 0640) == 0);
  const timespec times[2] = {{1650445339, 111111111}, {1650445339, 361234567}};
  REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0);
  const struct stat st = lstatOf(path);

  const events::FileInfo info = readOk(path);
  CHECK(info.path == path);
  CHECK(typeName(info) == "file");
  REQUIRE(info.size.has_value());
  CHECK(*info.size == 10);
  CHECK(info.mode == 0640);
  CHECK_FALSE(info.setuid);
  CHECK_FALSE(info.setgid);
  CHECK(info.inode == st.st_ino);
  CHECK(info.device == st.st_dev);
  CHECK(info.uid == st.st_uid);
  CHECK(info.gid == st.st_gid);
  CHECK(info.owner == expectedUser(st.st_uid));
  CHECK(info.group == expectedGroup(st.st_gid));
  if (::geteuid() == 0) {
    CHECK(info.uid == 0);
    CHECK(info.owner == "root");
    CHECK(info.group == expectedGroup(0));
  }
  const auto expectedMtime = std::chrono::sys_seconds(std::chrono::seconds(1650445339)) +
                             std::chrono::nanoseconds(361234567);
  CHECK(info.mtime == expectedMtime);
  CHECK(std::chrono::duration_cast<std::chrono::nanoseconds>(info.mtime.time_since_epoch()).count() % 1000000000 ==
        361234567);
  const auto ctimeAge = std::chrono::system_clock::now() - info.ctime;
  CHECK(ctimeAge > -std::chrono::seconds(5));  // coarse kernel clock vs. system_clock
  CHECK(ctimeAge < std::chrono::seconds(60));
  CHECK(info.ctime == core::TimePoint(std::chrono::seconds(st.st_ctim.tv_sec) +
                                      std::chrono::nanoseconds(st.st_ctim.tv_nsec)));
  CHECK_FALSE(info.targetPath.has_value());
  CHECK_FALSE(info.mimeType.has_value());
  CHECK(info.hashes.empty());
}

TEST_CASE("metadata: setuid and setgid flags" * doctest::test_suite("metadata")) {
  TempDir dir;
  const std::string path = dir.write("prog", "#!/bin/sh\n");

  REQUIRE(::chmod(path.c_str(), 04755) == 0);
  auto info = readOk(path);
  CHECK(info.setuid);
  CHECK_FALSE(info.setgid);
  CHECK(info.mode == 04755);

  REQUIRE(::chmod(path.c_str(), 02755) == 0);
  info = readOk(path);
  CHECK_FALSE(info.setuid);
  CHECK(info.setgid);
  CHECK(info.mode == 02755);

  REQUIRE(::chmod(path.c_str(), 0755) == 0);
  info = readOk(path);
  CHECK_FALSE(info.setuid);
  CHECK_FALSE(info.setgid);
  CHECK(info.mode == 0755);
}

TEST_CASE("metadata: directory has type dir and no size" * doctest::test_suite("metadata")) {
  TempDir dir;
  const std::string path = dir.str() + "/sub";
  REQUIRE(::mkdir(path.c_str(), 0750) == 0);
  const auto info = readOk(path);
  CHECK(typeName(info) == "dir");
  CHECK_FALSE(info.size.has_value());
  CHECK(info.mode == 0750);
  CHECK(info.inode == lstatOf(path).st_ino);
}

TEST_CASE("metadata: symlink is not followed and reports its resolved target" * doctest::test_suite("metadata")) {
  TempDir dir;
  const std::string target = dir.write("real/target.txt", "payload");
  const std::string link = dir.str() + "/link";
  REQUIRE(::symlink("real/target.txt", link.c_str()) == 0);  // relative to the link's directory

  const auto info = readOk(link);
  CHECK(typeName(info) == "symlink");
  CHECK_FALSE(info.size.has_value());
  CHECK(info.inode == lstatOf(link).st_ino);
  CHECK(info.inode != lstatOf(target).st_ino);
  REQUIRE(info.targetPath.has_value());
  CHECK(*info.targetPath == std::filesystem::canonical(target).string());
  CHECK_FALSE(info.acl.has_value());

  SUBCASE("a chain of links resolves to the final file") {
    const std::string outer = dir.str() + "/outer";
    REQUIRE(::symlink(link.c_str(), outer.c_str()) == 0);
    const auto chained = readOk(outer);
    CHECK(typeName(chained) == "symlink");
    REQUIRE(chained.targetPath.has_value());
    CHECK(*chained.targetPath == std::filesystem::canonical(target).string());
  }
  SUBCASE("a link to a directory stays a symlink") {
    const std::string dirLink = dir.str() + "/dirlink";
    REQUIRE(::symlink("real", dirLink.c_str()) == 0);
    const auto linked = readOk(dirLink);
    CHECK(typeName(linked) == "symlink");
    REQUIRE(linked.targetPath.has_value());
    CHECK(*linked.targetPath == std::filesystem::canonical(dir.path() / "real").string());
  }
}

TEST_CASE("metadata: dangling symlink still reports an absolute target" * doctest::test_suite("metadata")) {
  TempDir dir;
  const std::string relative = dir.str() + "/dangling";
  REQUIRE(::symlink("missing/nothing", relative.c_str()) == 0);
  auto info = readOk(relative);
  CHECK(typeName(info) == "symlink");
  REQUIRE(info.targetPath.has_value());
  CHECK(*info.targetPath == dir.str() + "/missing/nothing");

  const std::string absolute = dir.str() + "/dangling-abs";
  REQUIRE(::symlink("/nonexistent-fimbeat/x", absolute.c_str()) == 0);
  info = readOk(absolute);
  REQUIRE(info.targetPath.has_value());
  CHECK(*info.targetPath == "/nonexistent-fimbeat/x");

  const std::string loop = dir.str() + "/loop";
  REQUIRE(::symlink("loop", loop.c_str()) == 0);  // ELOOP for realpath: falls back, never fails
  info = readOk(loop);
  REQUIRE(info.targetPath.has_value());
  CHECK(*info.targetPath == loop);
}

TEST_CASE("metadata: fifo and unix socket types without opening them" * doctest::test_suite("metadata")) {
  TempDir dir;
  const std::string fifo = dir.str() + "/fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto info = readOk(fifo);  // opening a fifo with no writer would block: returning proves we did not
  CHECK(typeName(info) == "fifo");
  CHECK_FALSE(info.size.has_value());
  CHECK(info.mode == 0600);

  const std::string sock = dir.str() + "/sock";
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  REQUIRE(sock.size() < sizeof(addr.sun_path));
  std::memcpy(addr.sun_path, sock.c_str(), sock.size() + 1);
  const int bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  ::close(fd);
  REQUIRE(bound == 0);
  info = readOk(sock);
  CHECK(typeName(info) == "socket");
  CHECK_FALSE(info.size.has_value());
}

TEST_CASE("metadata: /dev/null is a char device" * doctest::test_suite("metadata")) {
  const auto info = readOk("/dev/null");
  CHECK(typeName(info) == "char_device");
  CHECK_FALSE(info.size.has_value());
  CHECK(info.device == lstatOf("/dev/null").st_dev);
}

TEST_CASE("metadata: missing path is NotFound" * doctest::test_suite("metadata")) {
  TempDir dir;
  watcher::NameCache names;
  watcher::MetadataReader reader(names);
  const std::string path = dir.str() + "/no-such-file";
  const auto info = reader.read(testing::locate(path).at());
  REQUIRE_FALSE(info.has_value());
  CHECK(codeName(info.error()) == "not_found");
  CHECK(info.error().message().find(path) != std::string::npos);

  // Below a file: its "directory" cannot be opened (ENOTDIR).
  const std::string plain = dir.write("plain", "x");
  const auto underFile = watcher::openParentUnder(dir.str(), plain + "/child");
  REQUIRE_FALSE(underFile.has_value());
  CHECK(codeName(underFile.error()) == "not_found");
}

TEST_CASE("metadata: path with invalid UTF-8 bytes is kept byte for byte" * doctest::test_suite("metadata")) {
  TempDir dir;
  const std::string path = dir.str() + "/bad-\xff\xfe-\xc3(.txt";
  const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_EXCL, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, "abc", 3) == 3);
  ::close(fd);
  const auto info = readOk(path);
  CHECK(info.path == path);
  CHECK(info.path.size() == path.size());
  CHECK(typeName(info) == "file");
  CHECK(info.size == std::optional<std::uint64_t>(3));
}

TEST_CASE("metadata: an id with no name gives an empty owner and group" * doctest::test_suite("metadata")) {
  if (::geteuid() != 0) {
    FIM_SKIP("chown to an unused id needs root");
  }
  TempDir dir;
  const std::string path = dir.write("orphan", "x");
  REQUIRE(::lchown(path.c_str(), kUnusedId, kUnusedId) == 0);
  const auto info = readOk(path);
  CHECK(info.uid == kUnusedId);
  CHECK(info.gid == kUnusedId);
  CHECK(info.owner.empty());
  CHECK(info.group.empty());
}

TEST_CASE("metadata: POSIX access ACL is reported only with extended entries" * doctest::test_suite("metadata")) {
  TempDir dir;
  const std::string plain = dir.write("plain", "x");
  REQUIRE(::chmod(plain.c_str(), 0644) == 0);
  CHECK_FALSE(readOk(plain).acl.has_value());

  const std::string path = dir.write("shared", "x");
  const bool haveNobody = ::getpwnam("nobody") != nullptr;
  const std::string user = haveNobody ? "nobody" : "65534";
  const std::string text = "u::rw-,u:" + user + ":r--,g::r--,m::r--,o::---";
  acl_t acl = ::acl_from_text(text.c_str());
  REQUIRE(acl != nullptr);
  const int set = ::acl_set_file(path.c_str(), ACL_TYPE_ACCESS, acl);
  const int setErrno = errno;
  ::acl_free(acl);
  if (set != 0 && (setErrno == ENOTSUP || setErrno == EOPNOTSUPP)) {
    FIM_SKIP("the temp filesystem has no POSIX ACL support (" << dir.str() << ")");
  }
  REQUIRE_MESSAGE(set == 0, std::strerror(setErrno));

  const auto info = readOk(path);
  REQUIRE(info.acl.has_value());
  INFO("acl: " << *info.acl);
  CHECK((info.acl->find("user:nobody:r--") != std::string::npos ||
         info.acl->find("user:65534:r--") != std::string::npos));
  CHECK(info.acl->find("user::rw-") == 0);
  CHECK(info.acl->find("mask::r--") != std::string::npos);
  CHECK(info.acl->find('\n') == std::string::npos);
  CHECK(info.acl->find('#') == std::string::npos);  // no "#effective:" comments

  SUBCASE("a symlink to a file with an ACL reports none of its own") {
    const std::string link = dir.str() + "/acl-link";
    REQUIRE(::symlink(path.c_str(), link.c_str()) == 0);
    CHECK_FALSE(readOk(link).acl.has_value());
  }
}

TEST_CASE("metadata: selinux label from the xattr, trailing NUL stripped" * doctest::test_suite("metadata")) {
  TempDir dir;
  const std::string path = dir.write("labelled", "x");
  std::string raw(256, '\0');
  const ssize_t n = ::lgetxattr(path.c_str(), "security.selinux", raw.data(), raw.size());
  if (n < 0) {
    CHECK_FALSE(readOk(path).selinux.has_value());  // ENODATA/ENOTSUP: absent, not an error
  } else {
    raw.resize(static_cast<std::size_t>(n));
    while (!raw.empty() && raw.back() == '\0') raw.pop_back();
    REQUIRE(readOk(path).selinux.has_value());
    CHECK(*readOk(path).selinux == raw);
  }

  // The kernel stores whatever a privileged writer sets when no LSM claims the namespace.
  const std::string label = "system_u:object_r:fim_test_t:s0";
  if (::lsetxattr(path.c_str(), "security.selinux", label.c_str(), label.size() + 1, 0) != 0) {
    FIM_SKIP("setting a label: lsetxattr security.selinux: " << std::strerror(errno));
  }
  const auto info = readOk(path);
  REQUIRE(info.selinux.has_value());
  CHECK(*info.selinux == label);
}

TEST_CASE("name cache: root and unknown ids" * doctest::test_suite("name cache")) {
  watcher::NameCache names;
  CHECK(names.user(0) == "root");
  CHECK(names.group(0) == "root");
  CHECK(names.user(0) == "root");  // cached answer
  CHECK(names.user(kUnusedId).empty());
  CHECK(names.group(kUnusedId).empty());
  CHECK(names.user(kUnusedId).empty());
  CHECK(names.user(::getuid()) == expectedUser(::getuid()));
  CHECK(names.group(::getgid()) == expectedGroup(::getgid()));
}

TEST_CASE("name cache: consistent across threads" * doctest::test_suite("name cache")) {
  watcher::NameCache names;
  constexpr int kThreads = 8;
  constexpr int kRounds = 200;
  std::vector<std::set<std::string>> seen(kThreads);
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&names, &seen, t] {
        for (int i = 0; i < kRounds; ++i) {
          const std::uint32_t own = kUnusedId - static_cast<std::uint32_t>(t);  // first looked up by this thread
          const std::uint32_t id = (i % 3 == 0) ? 0 : (i % 3 == 1) ? kUnusedId : own;
          seen[t].insert(std::to_string(id) + "=" + names.user(id) + "/" + names.group(id));
        }
      });
    }
  }
  for (int t = 0; t < kThreads; ++t) {
    const std::string mine = std::to_string(kUnusedId - static_cast<std::uint32_t>(t)) + "=/";
    const std::set<std::string> expected = {"0=root/root", std::to_string(kUnusedId) + "=/", mine};
    CHECK(seen[t] == expected);
  }
}
