#pragma once
// ApprovalStore: the approved change windows of one data directory (`fimbeat approve`), kept in
// <path.data>/approvals.json (approval_format.h, written whole: temp file, fsync, rename). The
// running agent owns them and serves the control socket (control_server.h); with no agent the
// command edits the file itself under the same lock (ApprovalLock), so none is lost either way.

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "events/approval.h"
#include "management/approval_format.h"

namespace fim::management {

// The file and the lock of a data directory.
std::string approvalsFile(const std::string& dataDir);
std::string controlSocketPath(const std::string& dataDir);  // <path.data>/fimbeat.sock

// One writer of a data directory's approvals at a time: the agent for as long as it runs, else
// one `fimbeat approve`. An advisory lock (flock) on <path.data>/approvals.lock.
class ApprovalLock {
 public:
  // nullopt when another process holds it; an error when the lock file cannot be opened.
  [[nodiscard]] static core::Result<std::optional<ApprovalLock>> tryAcquire(const std::string& dataDir);
  ApprovalLock(ApprovalLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  ApprovalLock& operator=(ApprovalLock&&) = delete;
  ~ApprovalLock();

 private:
  explicit ApprovalLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

class ApprovalStore final : public events::ApprovalLookup {
 public:
  // Reads `file` (nothing there: no approvals). A file that cannot be read or decoded does not stop
  // anything: it is moved aside to <file>.corrupt, problem() says so, and the store starts empty.
  static std::unique_ptr<ApprovalStore> open(std::string file, const core::Clock& clock);
  // What was wrong with the file at open(), for the caller to report; empty when nothing was.
  const std::string& problem() const { return problem_; }

  // A new approval from now for `duration`; paths must be absolute (a directory covers what is
  // under it; symlinks in the parent directories are resolved), the reason not empty. Saved
  // before it is returned.
  [[nodiscard]] core::Result<Approval> add(const std::vector<std::string>& paths, std::chrono::milliseconds duration,
                                           const std::string& reason);
  // Removes an approval by id (saved); NotFound when no current approval has it.
  [[nodiscard]] core::Result<Approval> revoke(const std::string& id);
  // The approvals that have not expired, oldest first. Expired ones are pruned from the file.
  [[nodiscard]] core::Result<std::vector<Approval>> list();

  std::optional<events::ApprovalMark> approvalFor(std::string_view path, core::TimePoint at) const override;

 private:
  ApprovalStore(std::string file, const core::Clock& clock) : file_(std::move(file)), clock_(clock) {}
  // Drops the expired approvals; true when it dropped any. Holds mutex_.
  bool prune(core::TimePoint now);
  [[nodiscard]] core::Status save();  // holds mutex_

  const std::string file_;
  const core::Clock& clock_;
  std::string problem_;
  mutable std::mutex mutex_;
  std::vector<Approval> approvals_;
};

// An approval's path as it is matched against events: absolute, normalised, without a trailing
// slash, its parent directories' symlinks resolved. InvalidArgument for a relative path.
[[nodiscard]] core::Result<std::string> approvalPath(const std::string& path);

}  // namespace fim::management
