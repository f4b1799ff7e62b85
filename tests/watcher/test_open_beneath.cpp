// open_beneath.h: paths longer than PATH_MAX opened component by component through their
// parents' descriptors, never through a symlink.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <filesystem>

#include "support/deep_tree.h"
#include "support/temp_dir.h"
#include "watcher/open_beneath.h"

using namespace fim;
using fim::testing::TempDir;

namespace {

constexpr int kDeep = 500;  // levels of 10-byte names: about 5,500 bytes, past PATH_MAX (4,096)
const std::string kName = "0123456789";

std::string codeName(const core::Error& error) { return core::toString(error.code()); }

}  // namespace

TEST_CASE("open beneath: names and parents of absolute paths") {
  const std::string root = "/", top = "/etc", deep = "/etc/ssh/sshd_config";
  CHECK(std::string(watcher::baseName(root)) == ".");
  CHECK(std::string(watcher::baseName(top)) == "etc");
  CHECK(std::string(watcher::baseName(deep)) == "sshd_config");
  CHECK(watcher::parentPath("/") == "/");
  CHECK(watcher::parentPath("/etc") == "/");
  CHECK(watcher::parentPath(deep) == "/etc/ssh");
}

TEST_CASE("open beneath: a directory deeper than PATH_MAX opens, and a file in it is stat()ed through it") {
  TempDir dir;
  const std::string deepest = testing::makeChain(dir.str(), kDeep, kName);
  REQUIRE(deepest.size() > PATH_MAX);
  const int whole = ::open(deepest.c_str(), O_RDONLY | O_DIRECTORY);
  CHECK(whole < 0);  // what the kernel says to one system call with the whole path
  CHECK(errno == ENAMETOOLONG);

  auto opened = watcher::openDirectoryUnder(dir.str(), deepest);
  REQUIRE_MESSAGE(opened.has_value(), (opened ? "" : opened.error().message()));
  REQUIRE(testing::writeAt(opened->get(), "leaf", "deep"));

  auto parent = watcher::openParentUnder(dir.str(), deepest + "/leaf");
  REQUIRE(parent.has_value());
  const watcher::PathAt at = parent->at();
  CHECK(std::string(at.name) == "leaf");
  CHECK(at.path == deepest + "/leaf");
  struct stat st {};
  REQUIRE(::fstatat(at.dir, at.name, &st, AT_SYMLINK_NOFOLLOW) == 0);
  CHECK(st.st_size == 4);

  // The top itself, and its parent for the top: as configured.
  CHECK(watcher::openDirectoryUnder(dir.str(), dir.str()).has_value());
  auto above = watcher::openParentUnder(dir.str(), dir.str());
  REQUIRE(above.has_value());
  CHECK(::fstatat(above->dir.get(), watcher::baseName(dir.str()), &st, AT_SYMLINK_NOFOLLOW) == 0);
  CHECK(S_ISDIR(st.st_mode));
}

TEST_CASE("open beneath: a symlink anywhere below the top is never followed") {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "real" / "inner");
  REQUIRE(::symlink((dir.str() + "/real").c_str(), (dir.str() + "/link").c_str()) == 0);
  for (const std::string& path : {dir.str() + "/link", dir.str() + "/link/inner"}) {
    CAPTURE(path);
    auto opened = watcher::openDirectoryUnder(dir.str(), path);
    REQUIRE_FALSE(opened.has_value());
    CHECK(codeName(opened.error()) == "not_found");
    CHECK(opened.error().message().find("is a symlink (not followed)") != std::string::npos);
  }
  // Past PATH_MAX too, where no single openat2 call can see the whole path.
  const std::string deepest = testing::makeChain(dir.str() + "/real", kDeep, kName);
  auto deepDir = watcher::openDirectoryUnder(dir.str(), deepest);
  REQUIRE(deepDir.has_value());
  REQUIRE(::symlinkat((dir.str() + "/real").c_str(), deepDir->get(), "up") == 0);
  auto through = watcher::openDirectoryUnder(dir.str(), deepest + "/up/inner");
  REQUIRE_FALSE(through.has_value());
  CHECK(through.error().message().find("is a symlink (not followed)") != std::string::npos);

  auto outside = watcher::openDirectoryUnder(dir.str() + "/real", dir.str() + "/realx");
  REQUIRE_FALSE(outside.has_value());
  CHECK(codeName(outside.error()) == "invalid_argument");
}
