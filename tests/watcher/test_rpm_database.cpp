// package_verification on RPM systems: RPM's database read through librpm, the index kept current
// by watching the database's directory, the transaction lock, and the observer's verdicts by the
// database's digest algorithm. The databases are real: a package built with rpmbuild in the test,
// recorded with `rpm -i --justdb --dbpath <temporary directory>` (no file of the system is
// touched); the test cases that need them are skipped where rpm or rpmbuild is missing.

#include <doctest/doctest.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "core/metrics.h"
#include "support/lock_holder.h"
#include "support/package_observer.h"
#include "support/skip.h"
#include "support/temp_dir.h"
#include "watcher/file_observer.h"
#include "watcher/hasher.h"
#include "watcher/package/package_index.h"
#include "watcher/package/rpm_database.h"

using namespace fim;
using fim::testing::LockHolder;
using fim::testing::TempDir;

namespace {

std::string digestOf(events::HashType type, const std::string& content) {
  auto hasher = watcher::MultiHasher::create({type});
  REQUIRE(hasher.has_value());
  hasher->update(content.data(), content.size());
  auto digests = hasher->finish();
  REQUIRE(digests.has_value());
  return digests->at(type);
}

// Runs a shell command; its output when it fails, for the test's message.
bool run(const std::string& command, std::string& output) {
  output.clear();
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return false;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, p)) > 0;) output.append(buffer, n);
  return ::pclose(p) == 0;
}

bool haveRpmTools() {
  std::string out;
  return run("command -v rpm && command -v rpmbuild", out);
}

// A tree with a package's files and an RPM database that records the package "fimbeat-unit"
// (noarch) as installed: share/data.txt, app.conf (%config), a %ghost file, a symlink and a
// directory, all under tree (absolute paths in the package, as RPM has them).
struct RpmDatabase {
  TempDir tree;
  TempDir work;
  std::string db = work.str() + "/db";
  std::string data = tree.str() + "/share/data.txt";
  std::string conf = tree.str() + "/app.conf";
  std::string ghost = tree.str() + "/ghost.log";
  std::string link = tree.str() + "/share/link";
  std::string state = tree.str() + "/share/state.dat";
  std::string dataContent = "packaged content\n";
  std::string confContent = "setting = 1\n";

  RpmDatabase() {
    tree.write("share/data.txt", dataContent);
    tree.write("app.conf", confContent);
    tree.write("share/state.dat", "0\n");
    std::filesystem::create_symlink("data.txt", link);
    std::filesystem::create_directories(db);
  }

  // Builds version `version` of the package and records it in the database (-U: an upgrade
  // replaces the older one). Empty: done; else what failed.
  std::string install(const std::string& version, const std::string& digestAlgo = "8") const {
    const std::string top = work.str() + "/top-" + version;
    const std::string spec = work.write("fimbeat-unit-" + version + ".spec", specText(version));
    std::string out;
    const std::string build = "rpmbuild -bb --quiet --define '_topdir " + top + "' --define '__os_install_post %{nil}' "
                              "--define 'debug_package %{nil}' --define '_binary_filedigest_algorithm " +
                              digestAlgo + "' '" + spec + "'";
    if (!run(build, out)) return "rpmbuild failed: " + out;
    const std::string rpm = top + "/RPMS/noarch/fimbeat-unit-" + version + "-1.noarch.rpm";
    if (!run("rpm -U --justdb --nodeps --noscripts --dbpath '" + db + "' '" + rpm + "'", out)) return "rpm -U failed: " + out;
    return {};
  }

 private:
  std::string specText(const std::string& version) const {
    const std::string t = tree.str();
    return "Name: fimbeat-unit\nVersion: " + version + "\nRelease: 1\nSummary: fimbeat unit test\nLicense: MIT\n"
           "BuildArch: noarch\n%description\nfimbeat unit test\n%install\n"
           "mkdir -p %{buildroot}" + t + "/share/dir\n"
           "printf 'packaged content\\n' > %{buildroot}" + t + "/share/data.txt\n"
           "printf 'setting = 1\\n' > %{buildroot}" + t + "/app.conf\n"
           "ln -s data.txt %{buildroot}" + t + "/share/link\n"
           "printf '0\\n' > %{buildroot}" + t + "/share/state.dat\n"
           "%files\n" + t + "/share/data.txt\n" + t + "/share/link\n" + t + "/share/dir\n"
           "%verify(not md5 size mtime) " + t + "/share/state.dat\n"
           "%config(noreplace) " + t + "/app.conf\n%ghost " + t + "/ghost.log\n";
  }
};

}  // namespace

TEST_CASE("rpm: FILEDIGESTALGO values, versions, and digests of every size in the snapshot") {
  CHECK(watcher::rpm::digestAlgorithm(1) == watcher::DigestAlgorithm::Md5);
  CHECK(watcher::rpm::digestAlgorithm(2) == watcher::DigestAlgorithm::Sha1);
  CHECK(watcher::rpm::digestAlgorithm(8) == watcher::DigestAlgorithm::Sha256);
  CHECK(watcher::rpm::digestAlgorithm(9) == watcher::DigestAlgorithm::Sha384);
  CHECK(watcher::rpm::digestAlgorithm(10) == watcher::DigestAlgorithm::Sha512);
  CHECK(watcher::rpm::digestAlgorithm(11) == watcher::DigestAlgorithm::Sha224);
  CHECK_FALSE(watcher::rpm::digestAlgorithm(3));  // RIPEMD-160: not one fimbeat computes
  CHECK_FALSE(watcher::rpm::digestAlgorithm(0));

  CHECK(watcher::rpm::packageVersion(std::nullopt, "1.0", "1") == "1.0-1");
  CHECK(watcher::rpm::packageVersion(2, "4.18.0", "9.el9") == "2:4.18.0-9.el9");
  CHECK(watcher::rpm::packageVersion(std::nullopt, "1.0", "") == "1.0");

  // A SHA-256 and a SHA-512 digest beside an MD5 one: each kept with its algorithm.
  const std::string sha256 = digestOf(events::HashType::Sha256, "a");
  const std::string sha512 = digestOf(events::HashType::Sha512, "b");
  const auto bytesOf = [](const std::string& hex) {
    std::vector<std::uint8_t> bytes;
    for (std::size_t i = 0; i < hex.size(); i += 2) bytes.push_back(static_cast<std::uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return bytes;
  };
  watcher::PackageSnapshot::Builder builder;
  const auto p = builder.addPackage({"p", "1.0-1", "x86_64"});
  builder.addFile("/b", {p, watcher::Digest(watcher::DigestAlgorithm::Sha256, bytesOf(sha256)), false});
  builder.addFile("/a", {p, watcher::Digest(watcher::DigestAlgorithm::Sha512, bytesOf(sha512)), true});
  builder.addFile("/c", {p, *watcher::parseMd5(digestOf(events::HashType::Md5, "c")), false});
  builder.addFile("/d", {p, watcher::Digest(watcher::DigestAlgorithm::Sha256, bytesOf(sha512)), false});  // wrong size: none
  const auto snapshot = std::move(builder).build();
  REQUIRE(snapshot.find("/a"));
  CHECK(snapshot.find("/a")->digest.algorithm() == watcher::DigestAlgorithm::Sha512);
  CHECK(snapshot.find("/a")->digest.matches(sha512));
  CHECK(snapshot.find("/a")->conffile);
  CHECK(snapshot.find("/b")->digest.algorithm() == watcher::DigestAlgorithm::Sha256);
  CHECK(snapshot.find("/b")->digest.matches(sha256));
  CHECK_FALSE(snapshot.find("/b")->digest.matches(sha512));
  CHECK(snapshot.find("/c")->digest.matches(digestOf(events::HashType::Md5, "c")));
  CHECK_FALSE(snapshot.find("/d")->digest);
  CHECK_FALSE(watcher::Digest().matches(""));
  // The digests live beside the paths: 12 bytes of table per path, no fixed-size digest slot.
  CHECK(snapshot.bytes() < 4 * 12 + 4 * 2 + 64 + 32 + 16 + 3 * 64 + 256);
}

TEST_CASE("rpm database: files, digests, %config, version and architecture read through librpm") {
  if (!haveRpmTools()) FIM_SKIP("rpm and rpmbuild are not installed (Debian package rpm)");
  RpmDatabase db;
  const std::string failed = db.install("1.0");
  REQUIRE_MESSAGE(failed.empty(), failed);
  REQUIRE(watcher::rpm::hasDatabase(db.db));

  const auto handlers = [] {
    std::vector<void (*)(int)> out;
    for (int signal : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT}) {
      struct sigaction action {};
      ::sigaction(signal, nullptr, &action);
      out.push_back(action.sa_handler);
    }
    return out;
  };
  const auto before = handlers();
  auto loaded = watcher::rpm::loadDatabase(db.db);
  REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().message()));
  CHECK(handlers() == before);  // librpm leaves the agent's signal handling alone
  const auto data = loaded->find(db.data);
  REQUIRE(data.has_value());
  const auto& package = loaded->package(*data);
  CHECK(package.name == "fimbeat-unit");
  CHECK(package.version == "1.0-1");
  CHECK(package.architecture == "noarch");
  CHECK(data->digest.algorithm() == watcher::DigestAlgorithm::Sha256);
  CHECK(data->digest.matches(digestOf(events::HashType::Sha256, db.dataContent)));
  CHECK_FALSE(data->conffile);
  const auto conf = loaded->find(db.conf);
  REQUIRE(conf.has_value());
  CHECK(conf->conffile);
  CHECK(conf->digest.matches(digestOf(events::HashType::Sha256, db.confContent)));
  CHECK_FALSE(loaded->find(db.ghost));                     // %ghost: not installed by the package
  CHECK_FALSE(loaded->find(db.link));                      // a symlink: no content to verify
  CHECK_FALSE(loaded->find(db.tree.str() + "/share/dir"));  // a directory
  const auto state = loaded->find(db.state);  // %verify(not md5): owned, its digest never judged
  REQUIRE(state.has_value());
  CHECK_FALSE(state->digest);
  CHECK(loaded->fileCount() == 3);
  CHECK(loaded->packageCount() == 1);

  // Only the watched roots are indexed.
  watcher::PackageScope scope;
  scope.add(db.tree.str() + "/share", true);
  auto scoped = watcher::rpm::loadDatabase(db.db, "/", scope);
  REQUIRE(scoped.has_value());
  CHECK(scoped->find(db.data));
  CHECK_FALSE(scoped->find(db.conf));
}

TEST_CASE("rpm database: the algorithm is the database's (SHA-1 and MD5 packages)") {
  if (!haveRpmTools()) FIM_SKIP("rpm and rpmbuild are not installed (Debian package rpm)");
  for (const auto& [algo, type, algorithm] :
       {std::tuple{"2", events::HashType::Sha1, watcher::DigestAlgorithm::Sha1},
        std::tuple{"1", events::HashType::Md5, watcher::DigestAlgorithm::Md5}}) {
    CAPTURE(algo);
    RpmDatabase db;
    const std::string failed = db.install("1.0", algo);
    REQUIRE_MESSAGE(failed.empty(), failed);
    auto loaded = watcher::rpm::loadDatabase(db.db);
    REQUIRE(loaded.has_value());
    REQUIRE(loaded->find(db.data));
    CHECK(loaded->find(db.data)->digest.algorithm() == algorithm);
    CHECK(loaded->find(db.data)->digest.matches(digestOf(type, db.dataContent)));
  }
}

TEST_CASE("rpm database: a directory without a database is a clear error, never a crash") {
  TempDir empty;
  core::Metrics metrics;
  CHECK_FALSE(watcher::rpm::hasDatabase(empty.str()));
  auto index = watcher::PackageIndex::openRpm(metrics, {}, empty.str());
  REQUIRE_FALSE(index.has_value());
  CHECK(index.error().message().find(empty.str()) != std::string::npos);
  // The reader asked directly: an error naming the database; librpm would have created an empty one.
  for (const std::string& dir : {empty.str(), empty.str() + "/missing"}) {
    auto loaded = watcher::rpm::loadDatabase(dir);
    REQUIRE_FALSE(loaded.has_value());
    CHECK((loaded.error().code() == core::ErrorCode::NotFound));
    CHECK(loaded.error().message().find("RPM's database (" + dir + ")") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir + "/rpmdb.sqlite"));
  }
  // A damaged database: librpm's complaint in the error, no crash.
  empty.write("rpmdb.sqlite", std::string(4096, 'x'));
  auto damaged = watcher::rpm::loadDatabase(empty.str());
  REQUIRE_FALSE(damaged.has_value());
  CHECK(damaged.error().message().find("RPM's database (" + empty.str() + ")") != std::string::npos);
  MESSAGE(damaged.error().message());
}

TEST_CASE("rpm package index: rebuilt when rpm changes the database, not by fimbeat's reads, not during a transaction") {
  if (!haveRpmTools()) FIM_SKIP("rpm and rpmbuild are not installed (Debian package rpm)");
  RpmDatabase db;
  REQUIRE(db.install("1.0").empty());
  core::Metrics metrics;
  auto index = watcher::PackageIndex::openRpm(metrics, {}, db.db);
  REQUIRE_MESSAGE(index.has_value(), (index ? "" : index.error().message()));
  CHECK((*index)->format() == watcher::PackageFormat::Rpm);
  auto first = (*index)->current();
  REQUIRE(first != nullptr);
  // librpm's reads write SQLite's -shm and -wal files: they do not make the index stale.
  for (int i = 0; i < 3; ++i) CHECK((*index)->current() == first);
  CHECK(metrics.counter("watcher.packages.index_rebuilds").value() == 0);
  CHECK_FALSE((*index)->transactionRunning());

  REQUIRE(db.install("1.1").empty());  // rpm -U: the database changes
  {
    LockHolder rpm(db.db + "/.rpm.lock");  // as rpm holds it for a whole transaction: the next one runs
    CHECK((*index)->transactionRunning());
    CHECK((*index)->current() == first);  // mid-transaction: the last consistent copy
  }
  CHECK_FALSE((*index)->transactionRunning());
  auto second = (*index)->current();
  REQUIRE(second != nullptr);
  CHECK(second != first);
  REQUIRE(second->find(db.data));
  CHECK(second->package(*second->find(db.data)).version == "1.1-1");
  CHECK(metrics.counter("watcher.packages.index_rebuilds").value() == 1);
  CHECK((*index)->current() == second);  // its own read changed nothing
  CHECK(metrics.counter("watcher.packages.index_rebuilds").value() == 1);
}

TEST_CASE("rpm package verdicts: by the database's SHA-256 in the same pass, conffiles, deferred during a transaction") {
  if (!haveRpmTools()) FIM_SKIP("rpm and rpmbuild are not installed (Debian package rpm)");
  RpmDatabase db;
  REQUIRE(db.install("1.0").empty());
  core::Metrics metrics;
  auto index = watcher::PackageIndex::openRpm(metrics, {}, db.db);
  REQUIRE(index.has_value());

  // sha256 is not configured: computed for package-owned files only.
  testing::PackageObserver observer({"sha1"}, metrics, index->get());
  const auto observe = [&](const std::string& path) { return observer.observe(path); };

  auto seen = observe(db.data);
  REQUIRE(seen.package.has_value());
  CHECK(seen.package->name == "fimbeat-unit");
  CHECK(seen.package->version == "1.0-1");
  CHECK(seen.package->architecture == "noarch");
  CHECK(seen.package->verified == true);
  CHECK(seen.info.hashes.count(events::HashType::Sha1) == 1);
  CHECK(seen.info.hashes.count(events::HashType::Sha256) == 0);  // not configured: not reported

  db.tree.write("share/data.txt", "tampered content\n");
  seen = observe(db.data);
  REQUIRE(seen.package.has_value());
  CHECK(seen.package->verified == false);

  seen = observe(db.conf);
  REQUIRE(seen.package.has_value());
  CHECK(seen.package->conffile);
  CHECK(seen.package->verified == true);  // as shipped
  db.tree.write("app.conf", "setting = 2\n");
  seen = observe(db.conf);
  CHECK(seen.package->conffile);
  CHECK_FALSE(seen.package->verified.has_value());  // edited: expected, never false

  CHECK_FALSE(observe(db.tree.write("unowned.txt", "mine\n")).package.has_value());

  {
    LockHolder rpm(db.db + "/.rpm.lock");
    seen = observe(db.data);
    CHECK(seen.packageDeferred);
    CHECK_FALSE(seen.package.has_value());
  }
  CHECK(metrics.counter("watcher.packages.mismatched").value() == 1);
  CHECK(metrics.counter("watcher.packages.deferred").value() == 1);

  // sha256 configured: the configured digest is the one judged, and it stays in the observation.
  testing::PackageObserver configured({"sha256"}, metrics, index->get());
  db.tree.write("share/data.txt", db.dataContent);
  const auto restored = configured.observe(db.data);
  REQUIRE(restored.package.has_value());
  CHECK(restored.package->verified == true);
  CHECK(restored.info.hashes.at(events::HashType::Sha256) == digestOf(events::HashType::Sha256, db.dataContent));
}
