#pragma once
// FileObserver: one worker's view of one path: metadata, then content hashes in one read
// pass (or the baseline's hashes when size, times, inode and device show nothing moved).

#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "config/config.h"
#include "events/file_event.h"
#include "events/observation.h"
#include "core/metrics.h"
#include "baseline/classify.h"
#include "baseline/view.h"
#include "watcher/file_hasher.h"
#include "watcher/content_policy.h"
#include "watcher/elf/elf_fields.h"
#include "watcher/file_metadata.h"
#include "watcher/mime_detector.h"
#include "watcher/name_cache.h"
#include "watcher/package/package_index.h"
#include "watcher/rate_limiter.h"
#include "watcher/safe_file.h"

namespace fim::watcher {

// What every worker shares: per-module settings and rate limiters, names, the baseline view.
struct ObserverShared {
  struct Module {
    std::vector<events::HashType> hashTypes;
    std::uint64_t maxFileSize = 0;
    bool mimeType = true;
    ElfFields elf;            // file_parsers' file.elf.* fields
    baseline::Wanted wanted;  // the same, as the baseline's classify() takes it
    bool verifyPackages = false;  // package_verification, with an index to verify against
    std::unique_ptr<RateLimiter> limiter;  // scan_rate_per_sec, burst = max_file_size
    std::unique_ptr<ContentPolicy> content;  // diff.enabled: which contents are kept, redacted
  };

  // `packages`: the index package_verification checks against (null: no module verifies).
  ObserverShared(const std::vector<config::ModuleConfig>& modules, baseline::View* prior, core::Metrics& metrics,
                 PackageIndex* packages = nullptr);

  std::vector<Module> modules;
  NameCache names;
  baseline::View* prior;  // null: always hash
  core::Counter& files;
  core::Counter& bytesHashed;
  core::Counter& reused;
  core::Counter& tooBig;
  core::Counter& vanished;
  core::Counter& errors;
  PackageIndex* packages;  // null: no module verifies packages
  std::uint32_t packageDigests = 0;  // hashBit() of each package digest type the crypto library provides
  core::Counter& packageVerified;
  core::Counter& packageMismatch;
  core::Counter& packageDeferred;
  core::Counter& elfParsed;
  MimeDetector mime;  // shared: one copy of libmagic's database for every worker
};

// What the scanner's walker already knows of a path; each saves a lookup.
struct Listed {
  const struct stat* st = nullptr;                        // its lstat, relative to the open directory
  const std::optional<events::FileInfo>* stored = nullptr;  // the baseline's record, read with the directory's
  bool regular = false;  // listed as a regular file (d_type) and not stat()ed: its open's fstat is the stat
};

// Not thread-safe: one per worker thread (libmagic and the hashers hold per-thread state).
class FileObserver {
 public:
  explicit FileObserver(ObserverShared& shared);

  // nullopt when the path vanished before it could be read (the deletion sweep reports it).
  // Everything is read relative to at.dir, the open directory that holds the path.
  std::optional<events::PathSeen> observe(const PathAt& at, std::size_t root, std::size_t module,
                                           std::stop_token stop, Listed listed = {});

 private:
  // A regular file's labels, hashes, MIME type and file.elf.*. `file`: the file, when already
  // open. `labelsKnown`: copied from the record, not to be read. `unchanged`: exactly as recorded
  // (no event will report it).
  void addContent(events::PathSeen& observation, const PathAt& at, ObserverShared::Module& settings,
                  std::stop_token stop, std::size_t module, std::optional<SafeFile>& file, bool labelsKnown,
                  bool unchanged);
  // file.elf.* when file_parsers asks for it, opening the file if need be. `read`: the stat its
  // content was hashed at, or null (the parse then checks against the stat at its open).
  void addElf(events::PathSeen& observation, const PathAt& at, const ObserverShared::Module& settings,
              std::optional<SafeFile>& file, const struct stat* read, std::stop_token stop);
  bool reuseHashes(events::FileInfo& info, const std::optional<events::FileInfo>& stored,
                   const ObserverShared::Module& settings) const;
  // The package that owns a file, judged by `digest` (its content's hex digest in the algorithm
  // of the package's; null when not read).
  void judgePackage(events::PathSeen& observation, const PackageSnapshot& packages, const OwnedFile& owned,
                    const std::string* digest);
  // The module's hasher, with `extra` added to its types (for the package check) when set.
  FileHasher& hasherFor(std::size_t module, std::optional<events::HashType> extra);

  ObserverShared& shared_;
  MetadataReader metadata_;
  std::vector<FileHasher> hashers_;  // one per module: each hashes that module's types
  // Per verifying module, by package digest type it does not hash anyway: its types plus that
  // one, for package-owned files only. Made on first use (dpkg: md5; RPM: mostly sha256).
  std::vector<std::map<events::HashType, FileHasher>> packageHashers_;
};

}  // namespace fim::watcher
