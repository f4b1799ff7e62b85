#include "management/approval_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include <fmt/format.h>

#include "core/paths.h"
#include "core/private_file.h"

namespace fim::management {
namespace {

constexpr std::size_t kMaxFileBytes = 4 << 20;
constexpr std::size_t kMaxReasonBytes = 1024;
constexpr std::size_t kMaxApprovals = 1000;  // more is a script gone wrong, not change management

std::string randomId() {
  unsigned char bytes[4] = {};
  std::size_t got = 0;
  while (got < sizeof bytes) {
    const ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n > 0) got += static_cast<std::size_t>(n);
  }
  return fmt::format("{:02x}{:02x}{:02x}{:02x}", bytes[0], bytes[1], bytes[2], bytes[3]);
}

}  // namespace

std::string approvalsFile(const std::string& dataDir) { return dataDir + "/approvals.json"; }
std::string controlSocketPath(const std::string& dataDir) { return dataDir + "/fimbeat.sock"; }

core::Result<std::optional<ApprovalLock>> ApprovalLock::tryAcquire(const std::string& dataDir) {
  if (auto dir = core::ensureDirectory(dataDir, 0700); !dir) return std::unexpected(dir.error());
  const std::string path = dataDir + "/approvals.lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return std::unexpected(core::errnoError("opening " + path, errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) return std::optional<ApprovalLock>();
    return std::unexpected(core::errnoError("locking " + path, err));
  }
  return std::optional<ApprovalLock>(ApprovalLock(fd));
}

ApprovalLock::~ApprovalLock() {
  if (fd_ >= 0) ::close(fd_);
}

core::Result<std::string> approvalPath(const std::string& path) {
  if (path.empty() || path.front() != '/') {
    return core::failf(core::ErrorCode::InvalidArgument, "--paths {}: an approved path must be absolute", path);
  }
  std::filesystem::path normal = std::filesystem::path(path).lexically_normal();
  std::string text = normal.string();
  while (text.size() > 1 && text.back() == '/') text.pop_back();
  if (text == "/") return text;
  // The watcher reports paths below its roots with their symlinks resolved; the last component is
  // kept as given (an approved symlink is the link itself).
  const std::filesystem::path leaf(text);
  std::error_code ec;
  const auto parent = std::filesystem::weakly_canonical(leaf.parent_path(), ec);
  if (ec) return text;
  std::string resolved = (parent / leaf.filename()).string();
  return resolved;
}

std::unique_ptr<ApprovalStore> ApprovalStore::open(std::string file, const core::Clock& clock) {
  auto store = std::unique_ptr<ApprovalStore>(new ApprovalStore(std::move(file), clock));
  auto text = core::readPrivateFile(store->file_, kMaxFileBytes);
  if (text && !*text) return store;
  auto approvals = text ? decodeApprovals(**text) : core::Result<std::vector<Approval>>(std::unexpected(text.error()));
  if (approvals) {
    store->approvals_ = std::move(*approvals);
    store->prune(clock.now());  // saved with the next change
    return store;
  }
  const std::string aside = store->file_ + ".corrupt";
  std::error_code ec;
  std::filesystem::rename(store->file_, aside, ec);
  store->problem_ = fmt::format("the approved change windows in {} cannot be read ({}); {}; starting without them: "
                                "approve the current changes again",
                                store->file_, approvals.error().message(),
                                ec ? "it will be replaced" : "it is kept as " + aside);
  return store;
}

bool ApprovalStore::prune(core::TimePoint now) {
  const auto gone = std::erase_if(approvals_, [now](const Approval& a) { return a.expires <= now; });
  return gone > 0;
}

core::Status ApprovalStore::save() {
  return core::writePrivateFile(file_, encodeApprovals(approvals_), 0600);
}

core::Result<Approval> ApprovalStore::add(const std::vector<std::string>& paths, std::chrono::milliseconds duration,
                                          const std::string& reason) {
  if (paths.empty()) return core::fail(core::ErrorCode::InvalidArgument, "an approval needs at least one path (--paths)");
  if (duration <= std::chrono::milliseconds::zero()) {
    return core::fail(core::ErrorCode::InvalidArgument, "--for must be a positive duration, such as 30m");
  }
  if (reason.empty() || reason.size() > kMaxReasonBytes) {
    return core::failf(core::ErrorCode::InvalidArgument, "--reason must say why (a change ticket), in 1 to {} bytes",
                       kMaxReasonBytes);
  }
  Approval approval;
  approval.reason = reason;
  for (const auto& p : paths) {
    auto normal = approvalPath(p);
    if (!normal) return std::unexpected(normal.error());
    if (std::find(approval.paths.begin(), approval.paths.end(), *normal) == approval.paths.end()) {
      approval.paths.push_back(std::move(*normal));
    }
  }
  std::lock_guard lock(mutex_);
  approval.created = std::chrono::time_point_cast<std::chrono::milliseconds>(clock_.now());
  approval.expires = approval.created + duration;
  prune(approval.created);
  if (approvals_.size() >= kMaxApprovals) {
    return core::failf(core::ErrorCode::InvalidArgument, "{} approvals are current already: revoke some first",
                       approvals_.size());
  }
  do {
    approval.id = randomId();
  } while (std::any_of(approvals_.begin(), approvals_.end(), [&](const Approval& a) { return a.id == approval.id; }));
  approvals_.push_back(approval);
  if (auto saved = save(); !saved) {
    approvals_.pop_back();
    return std::unexpected(saved.error().context("saving the approval"));
  }
  return approval;
}

core::Result<Approval> ApprovalStore::revoke(const std::string& id) {
  std::lock_guard lock(mutex_);
  prune(clock_.now());
  auto it = std::find_if(approvals_.begin(), approvals_.end(), [&](const Approval& a) { return a.id == id; });
  if (it == approvals_.end()) {
    return core::failf(core::ErrorCode::NotFound, "no current approval has the id {} (see fimbeat approve --list)", id);
  }
  Approval revoked = *it;
  const auto index = it - approvals_.begin();
  approvals_.erase(it);
  if (auto saved = save(); !saved) {
    approvals_.insert(approvals_.begin() + index, revoked);
    return std::unexpected(saved.error().context("saving the revocation"));
  }
  return revoked;
}

core::Result<std::vector<Approval>> ApprovalStore::list() {
  std::lock_guard lock(mutex_);
  if (prune(clock_.now())) {
    if (auto saved = save(); !saved) return std::unexpected(saved.error().context("pruning expired approvals"));
  }
  return approvals_;
}

std::optional<events::ApprovalMark> ApprovalStore::approvalFor(std::string_view path, core::TimePoint at) const {
  std::lock_guard lock(mutex_);
  for (const auto& a : approvals_) {
    if (at < a.created || at >= a.expires) continue;
    for (const auto& top : a.paths) {
      if (core::isWithin(path, top)) return events::ApprovalMark{a.id, a.reason, a.expires};
    }
  }
  return std::nullopt;
}

}  // namespace fim::management
