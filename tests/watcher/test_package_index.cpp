// package_verification: dpkg's database read from its documented files, the index kept current,
// and the observer's verdicts. Databases are written into temporary directories in dpkg's formats
// (dpkg(1) FILES, deb-md5sums(5), deb-conffiles(5), dpkg-divert(1)); the lock is held by a child
// process exactly as dpkg holds it (a POSIX write lock on the whole file).

#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "core/metrics.h"
#include "support/lock_holder.h"
#include "support/package_observer.h"
#include "support/temp_dir.h"
#include "watcher/file_observer.h"
#include "watcher/hasher.h"
#include "watcher/package/dpkg_database.h"
#include "watcher/package/package_index.h"
#include "watcher/package/package_manager.h"

using namespace fim;
using fim::testing::LockHolder;
using fim::testing::TempDir;

namespace {

std::string md5Of(const std::string& content) {
  auto hasher = watcher::MultiHasher::create({events::HashType::Md5});
  REQUIRE(hasher.has_value());
  hasher->update(content.data(), content.size());
  auto digests = hasher->finish();
  REQUIRE(digests.has_value());
  return digests->at(events::HashType::Md5);
}

constexpr const char* kStatus = R"(Package: hello
Status: install ok installed
Priority: optional
Architecture: amd64
Version: 2.10-3
Conffiles:
 /etc/hello.conf 0123456789abcdef0123456789abcdef
 /etc/hello-old.conf fedcba9876543210fedcba9876543210 obsolete
Description: says hello
 A long description line.

Package: libthing1
Status: install ok installed
Architecture: i386
Multi-Arch: same
Version: 1.0

Package: gone
Status: purge ok not-installed
Architecture: all
Version: 3

Package: leftover
Status: deinstall ok config-files
Architecture: all
Version: 4
Conffiles:
 /etc/leftover.conf 00000000000000000000000000000000
)";

// A database and the tree it describes: /usr/bin/hello, /bin → usr/bin (merged /usr),
// /etc/hello.conf (a conffile), a Multi-Arch: same library, a diversion.
struct Database {
  TempDir root;
  TempDir admin;
  std::string hello = "#!/bin/sh\necho hello\n";
  std::string conf = "greeting = hi\n";

  Database() {
    root.write("usr/bin/hello", hello);
    root.write("usr/bin/hello.distrib", "diverted original\n");
    root.write("etc/hello.conf", conf);
    std::filesystem::create_symlink("usr/bin", root.path() / "bin");
    write("status", statusWith(md5Of(conf)));
    // hello lists /bin/hello (as packages did before merged /usr) and /usr/bin/greet, diverted.
    write("info/hello.md5sums", md5Of(hello) + "  bin/hello\n" + md5Of("diverted original\n") + "  usr/bin/greet\n" +
                                    "not a line\n");
    write("info/libthing1:i386.md5sums", md5Of("lib") + "  usr/lib/i386-linux-gnu/libthing.so.1\n");
    write("info/leftover.md5sums", md5Of("x") + "  usr/share/leftover/file\n");
    write("diversions", "/usr/bin/greet\n/usr/bin/hello.distrib\n:\n");
    std::filesystem::create_directories(admin.path() / "updates");
  }

  static std::string statusWith(const std::string& confMd5) {
    std::string status = kStatus;
    status.replace(status.find("0123456789abcdef0123456789abcdef"), 32, confMd5);
    return status;
  }

  void write(const std::string& name, const std::string& text) const {
    const auto tmp = admin.path() / (name + ".tmp");
    std::filesystem::create_directories(tmp.parent_path());
    std::ofstream(tmp) << text;
    std::filesystem::rename(tmp, admin.path() / name);  // as dpkg replaces its files
  }

  std::string path(const std::string& relative) const { return root.str() + "/" + relative; }
};


}  // namespace

TEST_CASE("dpkg status: installed packages, their conffiles, obsolete ones left out") {
  const auto entries = watcher::dpkg::parseStatus(kStatus);
  REQUIRE(entries.size() == 4);
  CHECK(entries[0].package.name == "hello");
  CHECK(entries[0].package.version == "2.10-3");
  CHECK(entries[0].package.architecture == "amd64");
  CHECK(entries[0].state == "installed");
  REQUIRE(entries[0].conffiles.size() == 1);
  CHECK(entries[0].conffiles[0].first == "/etc/hello.conf");
  CHECK(entries[2].state == "not-installed");
  CHECK(entries[3].state == "config-files");
}

TEST_CASE("dpkg md5sums, list and diversions files") {
  std::vector<std::pair<std::string, std::string>> lines;
  watcher::dpkg::parseMd5sums(
      "0123456789abcdef0123456789abcdef  usr/share/doc/a b/c\nshort  x\n0123456789ABCDEF0123456789abcdef *./etc/x\n",
      [&](std::string path, std::string_view md5) { lines.emplace_back(path, md5); });
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].first == "/usr/share/doc/a b/c");  // spaces in names kept
  CHECK(lines[1].first == "/etc/x");
  std::vector<std::string> listed;
  watcher::dpkg::parseList("/.\n/usr\n/usr/bin/x\n", [&](std::string path) { listed.push_back(path); });
  CHECK(listed == std::vector<std::string>{"/usr", "/usr/bin/x"});
  const auto diversions = watcher::dpkg::parseDiversions("/a\n/a.real\npkg\n/b\n/b.local\n:\n/incomplete\n");
  REQUIRE(diversions.size() == 2);
  CHECK(diversions[1].by == ":");
}

TEST_CASE("dpkg database: paths as fimbeat observes them, with digests, conffiles, diversions and Multi-Arch") {
  Database db;
  auto loaded = watcher::dpkg::loadDatabase(db.admin.str(), db.root.str());
  REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().message()));
  const watcher::PackageSnapshot& snapshot = *loaded;
  // /bin/hello in the package, /usr/bin/hello on disk (the root's /bin is a symlink to usr/bin).
  const auto hello = snapshot.find("/usr/bin/hello");
  REQUIRE(hello.has_value());
  CHECK_FALSE(snapshot.find("/bin/hello"));
  CHECK(snapshot.package(*hello).name == "hello");
  CHECK(hello->digest);
  CHECK(hello->digest.matches(md5Of(db.hello)));
  CHECK_FALSE(hello->conffile);
  const auto conf = snapshot.find("/etc/hello.conf");
  REQUIRE(conf.has_value());
  CHECK(conf->conffile);
  CHECK_FALSE(snapshot.find("/etc/hello-old.conf"));  // obsolete
  // A local diversion: the package's /usr/bin/greet lives at /usr/bin/hello.distrib.
  CHECK_FALSE(snapshot.find("/usr/bin/greet"));
  REQUIRE(snapshot.find("/usr/bin/hello.distrib"));
  // Multi-Arch: same packages name their files <package>:<arch>.
  const auto lib = snapshot.find("/usr/lib/i386-linux-gnu/libthing.so.1");
  REQUIRE(lib.has_value());
  CHECK(snapshot.package(*lib).architecture == "i386");
  // config-files: only the conffiles are left; not-installed packages own nothing.
  CHECK_FALSE(snapshot.find("/usr/share/leftover/file"));
  CHECK(snapshot.find("/etc/leftover.conf"));
  CHECK(snapshot.packageCount() == 3);
}

TEST_CASE("dpkg database: only the paths fimbeat can observe are kept (the watched roots)") {
  Database db;
  watcher::PackageScope scope;
  scope.add("/etc", false);  // not recursive: its direct entries only
  scope.add("/usr/lib", true);
  auto loaded = watcher::dpkg::loadDatabase(db.admin.str(), db.root.str(), scope);
  REQUIRE(loaded.has_value());
  CHECK_FALSE(loaded->find("/usr/bin/hello"));  // not watched: not indexed
  CHECK(loaded->find("/etc/hello.conf"));
  CHECK(loaded->find("/usr/lib/i386-linux-gnu/libthing.so.1"));
  CHECK(loaded->fileCount() == 3);      // and /etc/leftover.conf
  CHECK(loaded->packageCount() == 3);  // the packages are few: all kept

  CHECK(scope.contains("/etc/x.conf"));
  CHECK(scope.contains("/etc"));
  CHECK_FALSE(scope.contains("/etc/sub/x.conf"));
  CHECK_FALSE(scope.contains("/usr/library"));
  CHECK_FALSE(scope.contains("/"));
  watcher::PackageScope everything;
  CHECK(everything.contains("/anything"));
}

TEST_CASE("package snapshot: a sorted table, the first owner keeps a path unless a conffile entry claims it") {
  watcher::PackageSnapshot::Builder builder;
  const auto a = builder.addPackage({"a", "1", "all"});
  const auto b = builder.addPackage({"b", "1", "all"});
  const auto c = builder.addPackage({"c", "1", "all"});
  const auto md5 = *watcher::parseMd5("0123456789ABCDEF0123456789abcdef");
  builder.addFile("/z/last", {a, md5, false});
  builder.addFile("/shared", {a, {}, false});
  builder.addFile("/shared", {b, md5, true});  // the conffile wins
  builder.addFile("/shared", {c, {}, true});
  builder.addFile("/first", {b, {}, false});
  builder.addFile("/first", {a, {}, false});  // the first owner keeps it
  const auto snapshot = std::move(builder).build();
  CHECK(snapshot.fileCount() == 3);
  REQUIRE(snapshot.find("/shared"));
  CHECK(snapshot.package(*snapshot.find("/shared")).name == "b");
  CHECK(snapshot.find("/shared")->conffile);
  CHECK(snapshot.package(*snapshot.find("/first")).name == "b");
  REQUIRE(snapshot.find("/z/last"));
  CHECK(snapshot.find("/z/last")->digest.matches("0123456789abcdef0123456789abcdef"));
  CHECK_FALSE(snapshot.find("/z/last")->digest.matches("ffffffffffffffffffffffffffffffff"));
  CHECK_FALSE(snapshot.find("/z"));
  CHECK_FALSE(snapshot.find("/shared/x"));
  CHECK_FALSE(watcher::parseMd5("0123456789abcdef0123456789abcdeg"));
  CHECK(snapshot.bytes() < 3 * 64 + 1024);
}

TEST_CASE("dpkg database: an updates/ journal entry overrides status, as dpkg reads it") {
  Database db;
  db.write("updates/0001", "Package: hello\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.10-4\n");
  auto loaded = watcher::dpkg::loadDatabase(db.admin.str(), db.root.str());
  REQUIRE(loaded.has_value());
  const auto hello = loaded->find("/usr/bin/hello");
  REQUIRE(hello.has_value());
  CHECK(loaded->package(*hello).version == "2.10-4");
}

TEST_CASE("dpkg database: no status file is an error naming it") {
  TempDir empty;
  auto loaded = watcher::dpkg::loadDatabase(empty.str());
  REQUIRE_FALSE(loaded.has_value());
  CHECK(loaded.error().message().find("/status") != std::string::npos);
}

TEST_CASE("package index: rebuilt when dpkg replaces status, not while dpkg's lock is held") {
  Database db;
  core::Metrics metrics;
  auto index = watcher::PackageIndex::openDpkg(metrics, {}, db.admin.str(), db.root.str());
  REQUIRE_MESSAGE(index.has_value(), (index ? "" : index.error().message()));
  auto first = (*index)->current();  // waits for the first read, made in the background
  REQUIRE(first != nullptr);
  CHECK((*index)->ready());
  CHECK(first == (*index)->current());  // nothing changed: the same snapshot, no rebuild
  CHECK(metrics.counter("watcher.packages.index_rebuilds").value() == 0);
  CHECK_FALSE((*index)->transactionRunning());

  std::string status = Database::statusWith(md5Of(db.conf));
  status.replace(status.find("2.10-3"), 6, "2.10-9");
  {
    LockHolder dpkg(db.admin.str() + "/lock");
    CHECK((*index)->transactionRunning());
    db.write("status", status);
    CHECK((*index)->current() == first);  // mid-transaction: the last consistent copy
  }
  CHECK_FALSE((*index)->transactionRunning());
  auto second = (*index)->current();
  CHECK(second != first);
  CHECK(second->package(*second->find("/usr/bin/hello")).version == "2.10-9");
  CHECK(metrics.counter("watcher.packages.index_rebuilds").value() == 1);
  {
    LockHolder apt(db.admin.str() + "/lock-frontend");  // apt's lock counts too
    CHECK((*index)->transactionRunning());
  }
}

TEST_CASE("package index: the first read runs in the background, current() waits for it, stop ends the wait") {
  Database db;
  // status as a FIFO: the first read blocks until the test writes it, whatever the machine's speed.
  const std::string status = db.admin.str() + "/status";
  std::filesystem::remove(status);
  REQUIRE(::mkfifo(status.c_str(), 0600) == 0);
  core::Metrics metrics;
  auto index = watcher::PackageIndex::openDpkg(metrics, {}, db.admin.str(), db.root.str());
  REQUIRE(index.has_value());  // returned while the read waits: the start is not held up
  CHECK_FALSE((*index)->ready());
  std::stop_source stopped;
  stopped.request_stop();
  CHECK((*index)->current(stopped.get_token()) == nullptr);  // a stopping agent does not wait

  {
    const int fifo = ::open(status.c_str(), O_WRONLY | O_CLOEXEC);  // waits for the reader
    REQUIRE(fifo >= 0);
    const std::string text = Database::statusWith(md5Of(db.conf));
    REQUIRE(::write(fifo, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    ::close(fifo);
  }
  db.write("status", Database::statusWith(md5Of(db.conf)));  // a plain file again for the re-read that follows
  const auto snapshot = (*index)->current();  // waits for the first read to end
  REQUIRE(snapshot != nullptr);
  CHECK((*index)->ready());
  CHECK(snapshot->find("/usr/bin/hello"));
  CHECK(metrics.gauge("watcher.packages.files").value() == static_cast<std::int64_t>(snapshot->fileCount()));
  CHECK(metrics.gauge("watcher.packages.index_bytes").value() > 0);
}

TEST_CASE("package verdicts: verified, differing, conffile, unowned, deferred during a transaction") {
  // A package whose files are in a temporary tree (dpkg names paths relative to /).
  TempDir tree;
  TempDir admin;
  const std::string data = tree.write("share/data.txt", "packaged content\n");
  const std::string conf = tree.write("app.conf", "setting = 1\n");
  const std::string other = tree.write("unowned.txt", "mine\n");
  const auto write = [&](const std::string& name, const std::string& text) {
    std::filesystem::create_directories((admin.path() / name).parent_path());
    std::ofstream(admin.path() / name) << text;
  };
  write("status", "Package: demo\nStatus: install ok installed\nArchitecture: all\nVersion: 1.2-1\nConffiles:\n " +
                      conf + " " + md5Of("setting = 1\n") + "\n");
  write("info/demo.md5sums", md5Of("packaged content\n") + "  " + data.substr(1) + "\n");
  core::Metrics metrics;
  auto index = watcher::PackageIndex::openDpkg(metrics, {}, admin.str(), "/");
  REQUIRE(index.has_value());

  // md5 is not configured: computed for package-owned files only.
  testing::PackageObserver observer({"sha256"}, metrics, index->get());
  const auto observe = [&](const std::string& path) { return observer.observe(path); };

  auto seen = observe(data);
  REQUIRE(seen.package.has_value());
  CHECK(seen.package->name == "demo");
  CHECK(seen.package->version == "1.2-1");
  CHECK(seen.package->architecture == "all");
  CHECK(seen.package->verified == true);
  CHECK_FALSE(seen.package->conffile);
  CHECK(seen.info.hashes.count(events::HashType::Sha256) == 1);
  CHECK(seen.info.hashes.count(events::HashType::Md5) == 0);  // not configured: not reported

  tree.write("share/data.txt", "tampered content\n");
  seen = observe(data);
  REQUIRE(seen.package.has_value());
  CHECK(seen.package->verified == false);

  seen = observe(conf);
  REQUIRE(seen.package.has_value());
  CHECK(seen.package->conffile);
  CHECK(seen.package->verified == true);  // as shipped
  tree.write("app.conf", "setting = 2\n");
  seen = observe(conf);
  REQUIRE(seen.package.has_value());
  CHECK(seen.package->conffile);
  CHECK_FALSE(seen.package->verified.has_value());  // edited: expected, never false

  seen = observe(other);
  CHECK_FALSE(seen.package.has_value());
  CHECK_FALSE(seen.packageDeferred);

  {
    LockHolder dpkg(admin.str() + "/lock");
    seen = observe(data);
    CHECK(seen.packageDeferred);
    CHECK_FALSE(seen.package.has_value());
    CHECK(seen.info.hashes.count(events::HashType::Sha256) == 1);  // the observation is complete otherwise
  }
  seen = observe(data);
  CHECK_FALSE(seen.packageDeferred);
  CHECK(seen.package.has_value());
  CHECK(metrics.counter("watcher.packages.mismatched").value() == 2);
  CHECK(metrics.counter("watcher.packages.deferred").value() == 1);

  // A module that does not verify: nothing looked up, no md5.
  testing::PackageObserver plain({"sha256"}, metrics, index->get(), false);
  CHECK_FALSE(plain.observe(data).package.has_value());
}

TEST_CASE("package managers are recognised by process name or executable") {
  events::ProcessInfo p;
  p.name = "dpkg";
  CHECK(watcher::isPackageManager(p));
  p.name = "unattended-upgr";  // comm is cut at 15 characters
  CHECK(watcher::isPackageManager(p));
  p.name = "python3";
  p.executable = "/usr/bin/dnf";
  CHECK(watcher::isPackageManager(p));
  p.executable = "/usr/bin/vim";
  p.name = "vim";
  CHECK_FALSE(watcher::isPackageManager(p));
}
