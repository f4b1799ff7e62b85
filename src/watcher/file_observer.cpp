#include "watcher/file_observer.h"

#include <algorithm>

#include "core/logging.h"
#include "watcher/elf/elf_parser.h"

namespace fim::watcher {
namespace {

// The hash type a package database's digest algorithm is computed as.
std::optional<events::HashType> hashTypeOf(DigestAlgorithm algorithm) {
  switch (algorithm) {
    case DigestAlgorithm::Md5: return events::HashType::Md5;
    case DigestAlgorithm::Sha1: return events::HashType::Sha1;
    case DigestAlgorithm::Sha224: return events::HashType::Sha224;
    case DigestAlgorithm::Sha256: return events::HashType::Sha256;
    case DigestAlgorithm::Sha384: return events::HashType::Sha384;
    case DigestAlgorithm::Sha512: return events::HashType::Sha512;
    case DigestAlgorithm::None: break;
  }
  return std::nullopt;
}

// hashBit() of each package digest type the crypto library computes (a FIPS provider refuses md5).
std::uint32_t computableDigests() {
  std::uint32_t bits = 0;
  for (auto type : {events::HashType::Md5, events::HashType::Sha1, events::HashType::Sha224, events::HashType::Sha256,
                    events::HashType::Sha384, events::HashType::Sha512}) {
    if (MultiHasher::create({type})) bits |= events::FileStamp::hashBit(type);
  }
  return bits;
}

// The index, when the package check can run at all: md5 is what dpkg records, and a FIPS
// provider may refuse it. (RPM's files whose digest type cannot be computed get no verdict.)
PackageIndex* usableIndex(PackageIndex* packages) {
  if (packages && packages->format() == PackageFormat::Dpkg && !MultiHasher::create({events::HashType::Md5})) {
    core::logger("watcher").warn("package_verification is off: OpenSSL does not provide MD5, which dpkg's "
                                 "digests need");
    return nullptr;
  }
  return packages;
}

bool sameStat(const struct stat& a, const struct stat& b) {
  return a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
         a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

core::TimePoint toTimePoint(const struct timespec& ts) {
  return core::TimePoint(std::chrono::duration_cast<core::TimePoint::duration>(
      std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
}

}  // namespace

ObserverShared::ObserverShared(const std::vector<config::ModuleConfig>& configured, baseline::View* priorState,
                               core::Metrics& metrics, PackageIndex* packageIndex)
    : prior(priorState),
      files(metrics.counter("watcher.scan.files")),
      bytesHashed(metrics.counter("watcher.scan.bytes_hashed")),
      reused(metrics.counter("watcher.scan.hashes_reused")),
      tooBig(metrics.counter("watcher.scan.over_max_file_size")),
      vanished(metrics.counter("watcher.scan.vanished")),
      errors(metrics.counter("watcher.scan.errors")),
      packages(usableIndex(packageIndex)),
      packageDigests(packages ? computableDigests() : 0),
      packageVerified(metrics.counter("watcher.packages.verified")),
      packageMismatch(metrics.counter("watcher.packages.mismatched")),
      packageDeferred(metrics.counter("watcher.packages.deferred")),
      elfParsed(metrics.counter("watcher.scan.elf_parsed")) {
  for (const auto& m : configured) {
    Module settings;
    for (const auto& name : m.hashTypes) {
      if (auto type = events::parseHashType(name)) {
        settings.hashTypes.push_back(*type);
        settings.wanted.hashTypes |= events::FileStamp::hashBit(*type);
      }
    }
    settings.maxFileSize = settings.wanted.maxFileSize = m.maxFileSize;
    settings.mimeType = settings.wanted.mimeType = m.mimeType;
    settings.elf = ElfFields::fromNames(m.fileParsers);
    settings.wanted.verifyAlways = m.verifyHashesAlways;
    settings.verifyPackages = packages != nullptr && m.packageVerification.value_or(true);
    settings.limiter = std::make_unique<RateLimiter>(m.scanRatePerSec, std::max<std::uint64_t>(m.maxFileSize, 1));
    if (m.diff.enabled) settings.content = std::make_unique<ContentPolicy>(m.diff);
    modules.push_back(std::move(settings));
  }
}

FileObserver::FileObserver(ObserverShared& shared) : shared_(shared), metadata_(shared.names) {
  for (auto& m : shared_.modules) hashers_.emplace_back(m.hashTypes, m.limiter.get());
  packageHashers_.resize(shared_.modules.size());
}

FileHasher& FileObserver::hasherFor(std::size_t module, std::optional<events::HashType> extra) {
  if (!extra) return hashers_[module];
  auto& byType = packageHashers_[module];
  if (auto it = byType.find(*extra); it != byType.end()) return it->second;
  const auto& settings = shared_.modules[module];
  auto types = settings.hashTypes;
  types.push_back(*extra);
  return byType.try_emplace(*extra, std::move(types), settings.limiter.get()).first->second;
}

void FileObserver::judgePackage(events::PathSeen& observation, const PackageSnapshot& packages,
                                const OwnedFile& owned, const std::string* digest) {
  const InstalledPackage& p = packages.package(owned);
  events::PackageVerdict& verdict = observation.package.emplace();
  verdict.name = p.name;
  verdict.version = p.version;
  verdict.architecture = p.architecture;
  verdict.conffile = owned.conffile;
  if (!digest || !owned.digest) return;
  if (owned.digest.matches(*digest)) {
    verdict.verified = true;
    shared_.packageVerified.add();
  } else if (!owned.conffile) {  // a conffile is meant to be edited: never a violation
    verdict.verified = false;
    shared_.packageMismatch.add();
  }
}

bool FileObserver::reuseHashes(events::FileInfo& info, const std::optional<events::FileInfo>& stored,
                               const ObserverShared::Module& settings) const {
  if (!stored || stored->type != events::FileType::File) return false;
  const events::FileInfo& o = *stored;
  const events::FileStamp recorded = events::stampOf(o);
  if (!baseline::reusable(recorded, baseline::classify(recorded, events::stampOf(info)), settings.wanted)) return false;
  for (auto type : settings.hashTypes) info.hashes[type] = o.hashes.at(type);
  if (settings.mimeType) info.mimeType = o.mimeType;
  return true;
}

void FileObserver::addContent(events::PathSeen& observation, const PathAt& at, ObserverShared::Module& settings,
                              std::stop_token stop, std::size_t module, std::optional<SafeFile>& file,
                              bool labelsKnown, bool unchanged) {
  events::FileInfo& info = observation.info;
  // From the open file when there is one: no second lookup of the path, and the same inode.
  const auto readLabels = [&] {
    if (!labelsKnown) metadata_.readLabels(info, at, file ? file->fd() : -1);
  };
  // The package check: the owner (if any) from the index, its verdict after the content is read.
  std::shared_ptr<const PackageSnapshot> packages;
  std::optional<OwnedFile> owned;
  if (settings.verifyPackages) {
    if (shared_.packages->transactionRunning()) {  // the files and the database are in flux
      observation.packageDeferred = true;
      shared_.packageDeferred.add();
    } else if ((packages = shared_.packages->current(stop))) {  // the first read may still run: waited for
      owned = packages->find(info.path);
    }
  }
  // The type the owner's digest is in, when fimbeat can compute it.
  std::optional<events::HashType> packageHash;
  if (owned && owned->digest) {
    packageHash = hashTypeOf(owned->digest.algorithm());
    if (packageHash && !(shared_.packageDigests & events::FileStamp::hashBit(*packageHash))) packageHash.reset();
  }
  const auto judge = [&](const std::string* digest) {
    if (owned) judgePackage(observation, *packages, *owned, digest);
  };
  const auto recordedDigest = [&]() -> const std::string* {
    if (!packageHash) return nullptr;
    const auto it = info.hashes.find(*packageHash);
    return it == info.hashes.end() ? nullptr : &it->second;
  };
  // diff.enabled: a content read now replaces the kept one (none kept for a file it excludes).
  const bool diffed = settings.content != nullptr;
  const bool keepContent = diffed && settings.content->wants(info.path);
  if (info.size.value_or(0) > settings.maxFileSize) {  // neither hashed nor parsed, as in Auditbeat
    observation.contentChecked = diffed;
    shared_.tooBig.add();
    readLabels();
    if (settings.mimeType) {
      if (auto head = file ? readHead(*file) : readHead(at)) info.mimeType = shared_.mime.detect(*head);
    }
    judge(nullptr);
    return;
  }
  if (reuseHashes(info, observation.stored, settings)) {
    shared_.reused.add();
    readLabels();
    judge(recordedDigest());  // only when its type is configured: the content was not read again
    // Parsed only for an event: the content is the recorded one, and only a change elsewhere reports it.
    if (!unchanged) addElf(observation, at, settings, file, nullptr, stop);
    return;
  }
  if (settings.hashTypes.empty() && !settings.mimeType && !owned && !keepContent) {
    readLabels();
    if (!unchanged) addElf(observation, at, settings, file, nullptr, stop);
    return;
  }
  if (!file) {
    auto opened = SafeFile::openForRead(at);
    if (!opened) {
      readLabels();
      shared_.errors.add();
      observation.errorMessage = "failed to hash " + opened.error().message();
      return;
    }
    file.emplace(std::move(*opened));
  }
  readLabels();
  // A package-owned file gets its package's digest type in the same read pass when the module
  // does not hash it anyway.
  std::optional<events::HashType> extra;
  if (packageHash && std::find(settings.hashTypes.begin(), settings.hashTypes.end(), *packageHash) ==
                         settings.hashTypes.end()) {
    extra = packageHash;
  }
  const std::size_t keep = keepContent ? static_cast<std::size_t>(settings.content->maxFileSize()) : 0;
  auto outcome = hasherFor(module, extra).hash(*file, stop, keep);
  if (!outcome) {
    shared_.errors.add();
    observation.errorMessage = outcome.error().message();
    judge(nullptr);
    return;
  }
  shared_.bytesHashed.add(static_cast<std::int64_t>(outcome->bytesRead));
  info.hashes = std::move(outcome->hashes);
  observation.contentChecked = diffed;
  if (keepContent && outcome->content) observation.text = settings.content->text(std::move(*outcome->content));
  judge(recordedDigest());
  if (extra) info.hashes.erase(*extra);  // not configured: neither recorded nor reported
  // The metadata that matches the hashed content.
  info.size = static_cast<std::uint64_t>(outcome->stat.st_size);
  info.mtime = toTimePoint(outcome->stat.st_mtim);
  info.ctime = toTimePoint(outcome->stat.st_ctim);
  if (settings.mimeType) info.mimeType = shared_.mime.detect(outcome->head);
  addElf(observation, at, settings, file, &outcome->stat, stop);
}

void FileObserver::addElf(events::PathSeen& observation, const PathAt& at, const ObserverShared::Module& settings,
                          std::optional<SafeFile>& file, const struct stat* read, std::stop_token stop) {
  if (settings.elf.empty()) return;
  const std::string path(at.path);
  if (!file) {
    auto opened = SafeFile::openForRead(at);
    if (!opened) {
      shared_.errors.add();
      observation.errorMessage = "failed to parse " + opened.error().message();
      return;
    }
    file.emplace(std::move(*opened));
  }
  const struct stat before = read ? *read : file->stat();
  ElfParse parsed = parseElf(file->fd(), settings.elf, stop);
  if (!parsed.info && !parsed.error) return;  // not an ELF file
  shared_.elfParsed.add();
  auto after = file->statNow();
  if (!after || !sameStat(before, *after)) {  // what was parsed may not be what was hashed: its change comes next
    observation.errorMessage = "file.elf.* left out: " + path + " changed while it was parsed";
    return;
  }
  if (parsed.error) {
    shared_.errors.add();
    observation.errorMessage = "failed to parse " + path + " as an ELF file: " + *parsed.error;
  }
  if (parsed.info && !parsed.info->empty()) observation.elf = std::move(parsed.info);
}

std::optional<events::PathSeen> FileObserver::observe(const PathAt& at, std::size_t root, std::size_t module,
                                                       std::stop_token stop, Listed listed) {
  std::optional<SafeFile> file;
  std::optional<core::Result<events::FileInfo>> info;
  if (listed.regular && !listed.st) {
    // Opened at once (never following a symlink, never waiting on a FIFO) and fstat()ed:
    // one path lookup for the stat, the labels and the hashes.
    if (auto opened = SafeFile::openForRead(at)) {
      info.emplace(metadata_.fromStat(at, opened->stat()));
      file.emplace(std::move(*opened));
    } else if (opened.error().code() == core::ErrorCode::NotFound) {
      shared_.vanished.add();
      return std::nullopt;
    }  // else no longer a regular file, or not readable: lstat tells what it is
  }
  if (!info) info.emplace(listed.st ? core::Result<events::FileInfo>(metadata_.fromStat(at, *listed.st))
                                    : metadata_.readStat(at));
  if (!*info) {
    if (info->error().code() == core::ErrorCode::NotFound) {
      shared_.vanished.add();
      return std::nullopt;
    }
    shared_.errors.add();
    events::PathSeen failed;
    failed.info.path = at.path;
    failed.errorMessage = info->error().message();
    failed.root = root;
    return failed;
  }
  shared_.files.add();
  events::PathSeen observation;
  observation.root = root;
  observation.info = std::move(**info);
  if (listed.stored) {
    observation.storedKnown = true;
    observation.stored = *listed.stored;
  } else if (shared_.prior) {  // read here, in parallel, rather than in the single baseline thread
    if (auto found = shared_.prior->lookup(observation.info.path)) {
      observation.storedKnown = true;
      observation.stored = std::move(*found);
    }
  }
  // Setting an xattr (setfacl, chcon) moves ctime, which user space cannot set back: with ctime,
  // inode and device unchanged the labels are the recorded ones.
  const auto& old = observation.stored;
  events::FileInfo& now = observation.info;
  const baseline::Comparison comparison =
      old ? baseline::classify(events::stampOf(*old), events::stampOf(now)) : baseline::Comparison{};
  const bool labelsKnown = comparison.sameContent;
  if (labelsKnown) {
    now.selinux = old->selinux;
    now.acl = old->acl;
  }
  if (now.type == events::FileType::File) {
    addContent(observation, at, shared_.modules[module], stop, module, file, labelsKnown, old && comparison.unchanged());
  } else if (!labelsKnown) {
    metadata_.readLabels(now, at);
  }
  return observation;
}

}  // namespace fim::watcher
