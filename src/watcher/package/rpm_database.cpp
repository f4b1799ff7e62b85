#include "watcher/package/rpm_database.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rpm/header.h>
#include <rpm/rpmdb.h>
#include <rpm/rpmfiles.h>
#include <rpm/rpmlib.h>
#include <rpm/rpmlog.h>
#include <rpm/rpmmacro.h>
#include <rpm/rpmpgp.h>
#include <rpm/rpmtag.h>
#include <rpm/rpmts.h>

#include <cstdlib>
#include <memory>
#include <mutex>

#include "watcher/package/root_aliases.h"

namespace fim::watcher::rpm {
namespace {

// librpm keeps its configuration, macros (the database path among them) and log sink in process
// globals: every use of it in fimbeat goes through this lock.
std::mutex& librpmLock() {
  static std::mutex lock;
  return lock;
}

// rpmReadConfigFiles() once per process (under librpmLock); its outcome is kept.
core::Status readConfiguration() {
  static bool done = false;
  static core::Status outcome;
  if (!done) {
    done = true;
    if (::rpmReadConfigFiles(nullptr, nullptr) != 0) {
      outcome = core::fail(core::ErrorCode::Unavailable, "librpm could not read its configuration (rpmrc, macros)");
    }
  }
  return outcome;
}

// librpm's messages go to the Error fimbeat reports instead of stderr while it is in use.
class LogCapture {
 public:
  LogCapture() { previous_ = ::rpmlogSetCallback(&LogCapture::record, this); }
  ~LogCapture() { ::rpmlogSetCallback(previous_, nullptr); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  // The last error librpm logged, or `fallback`.
  std::string message(std::string fallback) const { return last_.empty() ? fallback : last_; }

 private:
  static int record(rpmlogRec rec, rpmlogCallbackData data) {
    auto* self = static_cast<LogCapture*>(data);
    if (::rpmlogRecPriority(rec) <= RPMLOG_ERR) {
      std::string text = ::rpmlogRecMessage(rec);
      while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
      self->last_ = std::move(text);
    }
    return 0;  // handled: nothing printed
  }
  rpmlogCallback previous_ = nullptr;
  std::string last_;
};

// %{_dbpath} set for one read and taken back afterwards (librpm's macros are global).
class DbPathMacro {
 public:
  explicit DbPathMacro(const std::string& dbPath) : pushed_(!dbPath.empty()) {
    if (pushed_) ::rpmPushMacro(nullptr, "_dbpath", nullptr, dbPath.c_str(), RMIL_CMDLINE);
  }
  ~DbPathMacro() {
    if (pushed_) ::rpmPopMacro(nullptr, "_dbpath");
  }
  DbPathMacro(const DbPathMacro&) = delete;
  DbPathMacro& operator=(const DbPathMacro&) = delete;

 private:
  bool pushed_;
};

struct TsFree {
  void operator()(rpmts ts) const { ::rpmtsFree(ts); }
};
struct IteratorFree {
  void operator()(rpmdbMatchIterator mi) const { ::rpmdbFreeIterator(mi); }
};
struct FilesFree {
  void operator()(rpmfiles files) const { ::rpmfilesFree(files); }
};

InstalledPackage packageOf(Header h) {
  InstalledPackage p;
  p.name = ::headerGetString(h, RPMTAG_NAME) ? ::headerGetString(h, RPMTAG_NAME) : "";
  std::optional<std::uint64_t> epoch;
  if (::headerIsEntry(h, RPMTAG_EPOCH)) epoch = ::headerGetNumber(h, RPMTAG_EPOCH);
  const char* version = ::headerGetString(h, RPMTAG_VERSION);
  const char* release = ::headerGetString(h, RPMTAG_RELEASE);
  p.version = packageVersion(epoch, version ? version : "", release ? release : "");
  const char* arch = ::headerGetString(h, RPMTAG_ARCH);
  p.architecture = arch ? arch : "";
  return p;
}

// The files RPM installed for the package of `h` that are regular, not %ghost, and have a digest
// (judged by it unless %verify leaves the digest out).
void addFiles(Header h, std::uint32_t package, const RootAliases& aliases, PackageSnapshot::Builder& snapshot) {
  std::unique_ptr<rpmfiles_s, FilesFree> files(::rpmfilesNew(nullptr, h, RPMTAG_BASENAMES, RPMFI_FLAGS_VERIFY));
  if (!files) return;
  const int count = static_cast<int>(::rpmfilesFC(files.get()));
  for (int i = 0; i < count; ++i) {
    const rpmfileAttrs flags = ::rpmfilesFFlags(files.get(), i);
    if ((flags & RPMFILE_GHOST) || !S_ISREG(::rpmfilesFMode(files.get(), i))) continue;
    if (::rpmfilesFState(files.get(), i) != RPMFILE_STATE_NORMAL) continue;  // replaced, not installed, netshared
    int algo = 0;
    std::size_t length = 0;
    const unsigned char* bytes = ::rpmfilesFDigest(files.get(), i, &algo, &length);
    if (!bytes || length == 0) continue;
    // Owned, never judged: an algorithm fimbeat does not compute, or %verify(not md5) (a file
    // the package expects to change, which rpm -V does not check either).
    Digest digest;
    const auto algorithm = digestAlgorithm(static_cast<std::uint32_t>(algo));
    if (algorithm && (::rpmfilesVFlags(files.get(), i) & RPMVERIFY_FILEDIGEST)) digest = Digest(*algorithm, {bytes, length});
    std::unique_ptr<char, decltype(&std::free)> path(::rpmfilesFN(files.get(), i), &std::free);
    if (!path || path.get()[0] != '/') continue;
    snapshot.addFile(aliases.resolve(path.get()), {package, digest, (flags & RPMFILE_CONFIG) != 0});
  }
}

}  // namespace

std::optional<DigestAlgorithm> digestAlgorithm(std::uint32_t pgpHashAlgo) {
  switch (pgpHashAlgo) {
    case PGPHASHALGO_MD5: return DigestAlgorithm::Md5;
    case PGPHASHALGO_SHA1: return DigestAlgorithm::Sha1;
    case PGPHASHALGO_SHA224: return DigestAlgorithm::Sha224;
    case PGPHASHALGO_SHA256: return DigestAlgorithm::Sha256;
    case PGPHASHALGO_SHA384: return DigestAlgorithm::Sha384;
    case PGPHASHALGO_SHA512: return DigestAlgorithm::Sha512;
    default: return std::nullopt;
  }
}

std::string packageVersion(std::optional<std::uint64_t> epoch, std::string_view version, std::string_view release) {
  std::string evr = epoch ? std::to_string(*epoch) + ":" : std::string();
  evr += version;
  if (!release.empty()) {
    evr += '-';
    evr += release;
  }
  return evr;
}

core::Result<std::string> defaultDbPath() {
  std::lock_guard lock(librpmLock());
  LogCapture log;
  if (auto configured = readConfiguration(); !configured) return std::unexpected(configured.error());
  std::unique_ptr<char, decltype(&std::free)> path(::rpmExpand("%{_dbpath}", nullptr), &std::free);
  if (!path || path.get()[0] != '/') return core::fail(core::ErrorCode::Unavailable, "librpm names no database path (%{_dbpath})");
  return std::string(path.get());
}

bool hasDatabase(const std::string& dbPath) {
  for (const char* name : {"rpmdb.sqlite", "Packages.db", "Packages"}) {
    if (::access((dbPath + "/" + name).c_str(), F_OK) == 0) return true;
  }
  return false;
}

core::Result<PackageSnapshot> loadDatabase(const std::string& dbPath, const std::string& rootDir,
                                           const PackageScope& scope, std::stop_token stop) {
  if (dbPath.empty()) {
    auto configured = defaultDbPath();
    if (!configured) return std::unexpected(configured.error().context("reading RPM's database"));
    return loadDatabase(*configured, rootDir, scope, stop);
  }
  const std::string where = "RPM's database (" + dbPath + ")";
  const std::string inRoot = rootDir == "/" ? dbPath : rootDir + dbPath;
  // librpm creates an empty database where none is, even to read: fimbeat never writes one.
  if (!hasDatabase(inRoot)) {
    return core::fail(core::ErrorCode::NotFound,
                      "reading " + where + ": " + inRoot + " holds none (rpmdb.sqlite, Packages.db or Packages)");
  }
  const RootAliases aliases(rootDir);
  std::lock_guard lock(librpmLock());
  LogCapture log;
  if (auto configured = readConfiguration(); !configured) return std::unexpected(configured.error());
  const DbPathMacro macro(dbPath);
  std::unique_ptr<rpmts_s, TsFree> ts(::rpmtsCreate());
  if (!ts || ::rpmtsSetRootDir(ts.get(), rootDir.c_str()) != 0) {
    return core::fail(core::ErrorCode::InvalidArgument, "reading " + where + ": " + rootDir + " cannot be its root");
  }
  if (::rpmtsOpenDB(ts.get(), O_RDONLY) != 0) {
    return core::fail(core::ErrorCode::Unavailable, "reading " + where + ": " + log.message("librpm could not open it"));
  }
  PackageSnapshot::Builder snapshot(scope);
  std::unique_ptr<rpmdbMatchIterator_s, IteratorFree> packages(::rpmtsInitIterator(ts.get(), RPMDBI_PACKAGES, nullptr, 0));
  while (Header h = packages ? ::rpmdbNextIterator(packages.get()) : nullptr) {  // owned by the iterator
    if (stop.stop_requested()) return core::fail(core::ErrorCode::Unavailable, "reading " + where + " was interrupted");
    if (!::headerIsEntry(h, RPMTAG_BASENAMES)) continue;  // gpg-pubkey and other packages without files
    const std::uint32_t package = snapshot.addPackage(packageOf(h));
    addFiles(h, package, aliases, snapshot);
  }
  return std::move(snapshot).build();
}

}  // namespace fim::watcher::rpm
