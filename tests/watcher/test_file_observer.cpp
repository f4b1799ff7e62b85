#include <doctest/doctest.h>

#include "support/skip.h"

#include <fcntl.h>
#include <sys/acl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/metrics.h"
#include "support/path_at.h"
#include "support/temp_dir.h"
#include "watcher/file_metadata.h"
#include "watcher/file_observer.h"

using namespace fim;
using fim::testing::TempDir;

namespace {

const std::optional<events::FileInfo> kNoRecord;

// One module hashing sha256, MIME sniffing off, no throttling, no baseline.
struct Observer {
  Observer() : shared(modules(), nullptr, metrics), observer(shared) {}

  static std::vector<config::ModuleConfig> modules() {
    config::ModuleConfig m;
    m.hashTypes = {"sha256"};
    m.mimeType = false;
    m.scanRatePerSec = 0;
    return {m};
  }

  // As the walker hands over a file listed as regular and new to the baseline: not stat()ed.
  std::optional<events::PathSeen> listedRegular(const std::string& path) {
    return observer.observe(testing::locate(path).at(), 0, 0, stop.get_token(),
                            watcher::Listed{nullptr, &kNoRecord, true});
  }

  core::Metrics metrics;
  watcher::ObserverShared shared;
  watcher::FileObserver observer;
  std::stop_source stop;
};

std::string typeName(const events::FileInfo& info) { return events::toString(info.type); }

// False when the file system has no POSIX ACLs.
bool setAcl(const std::string& path, const std::string& text) {
  acl_t acl = ::acl_from_text(text.c_str());
  REQUIRE(acl != nullptr);
  const int set = ::acl_set_file(path.c_str(), ACL_TYPE_ACCESS, acl);
  const int setErrno = errno;
  ::acl_free(acl);
  if (set != 0 && (setErrno == ENOTSUP || setErrno == EOPNOTSUPP)) return false;
  REQUIRE_MESSAGE(set == 0, std::strerror(setErrno));
  return true;
}

}  // namespace

TEST_SUITE("file observer") {
  TEST_CASE("a file listed as regular is opened once: the same metadata and labels as lstat gives, and its hash") {
    TempDir dir;
    const std::string path = dir.write("new.conf", "hello world!\n");
    const bool acl = setAcl(path, "u::rw-,u:65534:r--,g::r--,m::r--,o::---");
    if (!acl) MESSAGE("no POSIX ACL support in " << dir.str() << ": the label part is not checked");

    Observer o;
    auto seen = o.listedRegular(path);
    REQUIRE(seen.has_value());
    CHECK_FALSE(seen->errorMessage.has_value());
    watcher::NameCache names;
    auto expected = watcher::MetadataReader(names).read(testing::locate(path).at());
    REQUIRE(expected.has_value());
    const events::FileInfo& got = seen->info;
    CHECK(typeName(got) == "file");
    CHECK(got.size == expected->size);
    CHECK(got.inode == expected->inode);
    CHECK(got.device == expected->device);
    CHECK(got.mode == expected->mode);
    CHECK(got.owner == expected->owner);
    CHECK(got.mtime == expected->mtime);
    CHECK(got.ctime == expected->ctime);
    CHECK(got.acl == expected->acl);
    CHECK(got.selinux == expected->selinux);
    if (acl) CHECK(got.acl.has_value());
    CHECK(got.hashes.at(events::HashType::Sha256) == "ecf701f727d9e2d77c4aa49ac6fbbcc997278aca010bddeeb961c10cf54d435a");
    CHECK(o.shared.files.value() == 1);
  }

  TEST_CASE("file_parsers: an ELF file's observation carries file.elf.*, and one exactly as recorded is not parsed again") {
    if (!std::filesystem::exists("/bin/ls")) FIM_SKIP("no /bin/ls to copy an ELF file from");
    TempDir dir;
    const std::string elf = (dir.path() / "ls").string();
    std::filesystem::copy_file("/bin/ls", elf);
    const std::string text = dir.write("notes.txt", "not an executable\n");
    config::ModuleConfig m;
    m.hashTypes = {"sha256"};
    m.mimeType = false;
    m.scanRatePerSec = 0;
    m.fileParsers = {"file.elf.import_hash", "file.elf.sections.name", "file.pe.imphash"};
    core::Metrics metrics;
    watcher::ObserverShared shared({m}, nullptr, metrics);
    watcher::FileObserver observer(shared);
    std::stop_source stop;
    const auto at = testing::locate(elf);

    auto seen = observer.observe(at.at(), 0, 0, stop.get_token());
    REQUIRE(seen.has_value());
    CHECK_FALSE(seen->errorMessage.has_value());
    REQUIRE(seen->elf.has_value());
    CHECK(seen->elf->importHash.has_value());
    REQUIRE(seen->elf->sections.has_value());
    CHECK((*seen->elf->sections)[1].name.has_value());
    CHECK_FALSE((*seen->elf->sections)[1].entropy.has_value());
    CHECK_FALSE(seen->elf->imports.has_value());
    auto plain = observer.observe(testing::locate(text).at(), 0, 0, stop.get_token());
    CHECK_FALSE(plain->elf.has_value());
    CHECK(metrics.counter("watcher.scan.elf_parsed").value() == 1);

    const std::optional<events::FileInfo> stored = seen->info;
    auto again = observer.observe(at.at(), 0, 0, stop.get_token(), watcher::Listed{nullptr, &stored, false});
    CHECK_FALSE(again->elf.has_value());  // nothing to report: not read at all
    CHECK(metrics.counter("watcher.scan.elf_parsed").value() == 1);
    REQUIRE(::chmod(elf.c_str(), 0700) == 0);
    auto chmodded = observer.observe(at.at(), 0, 0, stop.get_token(), watcher::Listed{nullptr, &stored, false});
    CHECK(chmodded->info.hashes == stored->hashes);  // reused: the content is the recorded one
    REQUIRE(chmodded->elf.has_value());  // yet the event that reports the chmod describes the ELF file
    CHECK(chmodded->elf == seen->elf);
    CHECK(metrics.counter("watcher.scan.elf_parsed").value() == 2);
  }

  TEST_CASE("a file listed as regular that became something else is reported as what lstat shows, never read") {
    TempDir dir;
    Observer o;

    SUBCASE("a symlink") {
      const std::string target = dir.write("target", "secret\n");
      const std::string path = dir.str() + "/entry";
      std::filesystem::create_symlink(target, path);
      auto seen = o.listedRegular(path);
      REQUIRE(seen.has_value());
      CHECK(typeName(seen->info) == "symlink");
      CHECK(seen->info.targetPath == target);
      CHECK(seen->info.hashes.empty());
      CHECK_FALSE(seen->errorMessage.has_value());
    }
    SUBCASE("a FIFO: the observation returns at once, without waiting for a writer") {
      const std::string path = dir.str() + "/entry";
      REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
      auto seen = o.listedRegular(path);
      REQUIRE(seen.has_value());
      CHECK(typeName(seen->info) == "fifo");
      CHECK(seen->info.hashes.empty());
      CHECK_FALSE(seen->errorMessage.has_value());
    }
    SUBCASE("a directory") {
      const std::string path = dir.str() + "/entry";
      std::filesystem::create_directory(path);
      auto seen = o.listedRegular(path);
      REQUIRE(seen.has_value());
      CHECK(typeName(seen->info) == "dir");
      CHECK_FALSE(seen->info.size.has_value());
    }
  }

  TEST_CASE("a file listed as regular that vanished is no observation, only counted") {
    TempDir dir;
    Observer o;
    CHECK_FALSE(o.listedRegular(dir.str() + "/gone").has_value());
    CHECK(o.shared.vanished.value() == 1);
    CHECK(o.shared.files.value() == 0);
  }
}

TEST_CASE("metadata: labels read through an open file are that file's, whatever its path names now" *
          doctest::test_suite("metadata")) {
  TempDir dir;
  const std::string path = dir.write("config", "x");
  if (!setAcl(path, "u::rw-,u:65534:r--,g::r--,m::r--,o::---")) {
    FIM_SKIP("the temp filesystem has no POSIX ACL support (" << dir.str() << ")");
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  // The path now names another file, without an ACL.
  const std::string plain = dir.write("plain", "y");
  REQUIRE(::rename(plain.c_str(), path.c_str()) == 0);

  watcher::NameCache names;
  watcher::MetadataReader reader(names);
  events::FileInfo viaFd;
  viaFd.path = path;
  viaFd.type = events::FileType::File;
  reader.readLabels(viaFd, testing::locate(path).at(), fd);
  ::close(fd);
  REQUIRE(viaFd.acl.has_value());
  CHECK(viaFd.acl->find("user:") != std::string::npos);

  events::FileInfo viaPath = viaFd;
  viaPath.acl.reset();
  reader.readLabels(viaPath, testing::locate(path).at());
  CHECK_FALSE(viaPath.acl.has_value());
}
