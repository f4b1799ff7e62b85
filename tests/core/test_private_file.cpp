// Private files: written whole with their mode whatever the umask, never read through a symlink.

#include <doctest/doctest.h>

#include <sys/stat.h>

#include <filesystem>

#include "core/private_file.h"
#include "support/temp_dir.h"

using namespace fim;

namespace {
unsigned modeOf(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}
}  // namespace

TEST_CASE("writePrivateFile replaces a file whole with the mode given, whatever the umask") {
  testing::TempDir tmp;
  const std::string path = tmp.str() + "/secret";
  const mode_t previous = ::umask(0);
  REQUIRE(core::writePrivateFile(path, "first", 0600));
  ::umask(previous);
  CHECK(modeOf(path) == 0600u);
  REQUIRE(core::writePrivateFile(path, std::string("second\0", 7), 0600));
  CHECK(core::readPrivateFile(path, 100).value() == std::string("second\0", 7));
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST_CASE("readPrivateFile: nullopt when missing, and a symlink, a directory or an oversized file is an error") {
  testing::TempDir tmp;
  CHECK(core::readPrivateFile(tmp.str() + "/missing", 10).value() == std::nullopt);
  const std::string target = tmp.write("target", "0123456789");
  CHECK(core::readPrivateFile(target, 10).value() == "0123456789");
  const auto large = core::readPrivateFile(target, 9);
  REQUIRE_FALSE(large.has_value());
  CHECK(large.error().message().find("larger than 9 bytes") != std::string::npos);
  std::filesystem::create_symlink(target, tmp.path() / "link");
  const auto link = core::readPrivateFile(tmp.str() + "/link", 100);
  REQUIRE_FALSE(link.has_value());
  CHECK(link.error().message().find("symlink") != std::string::npos);
  CHECK_FALSE(core::readPrivateFile(tmp.str(), 100).has_value());
}

TEST_CASE("ensureDirectory creates missing parents with the mode and refuses a file in the way") {
  testing::TempDir tmp;
  const std::string dir = tmp.str() + "/a/b/c";
  const mode_t previous = ::umask(0);
  REQUIRE(core::ensureDirectory(dir, 0700));
  ::umask(previous);
  CHECK(modeOf(dir) == 0700u);
  CHECK(modeOf(tmp.str() + "/a") == 0700u);
  REQUIRE(core::ensureDirectory(dir, 0700));  // exists: fine
  const std::string file = tmp.write("file", "x");
  const auto blocked = core::ensureDirectory(file, 0700);
  REQUIRE_FALSE(blocked.has_value());
  CHECK(blocked.error().message().find("not a directory") != std::string::npos);
}
