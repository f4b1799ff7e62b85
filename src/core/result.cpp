#include "core/result.h"

#include <cerrno>
#include <cstring>

namespace fim::core {

const char* toString(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidArgument: return "invalid_argument";
    case ErrorCode::NotFound: return "not_found";
    case ErrorCode::PermissionDenied: return "permission_denied";
    case ErrorCode::Io: return "io";
    case ErrorCode::Parse: return "parse";
    case ErrorCode::Unavailable: return "unavailable";
    case ErrorCode::Corrupt: return "corrupt";
    case ErrorCode::Internal: return "internal";
  }
  return "unknown";
}

Error errnoError(const std::string& what, int err) {
  ErrorCode code = ErrorCode::Io;
  if (err == ENOENT || err == ENOTDIR) code = ErrorCode::NotFound;
  if (err == EACCES || err == EPERM) code = ErrorCode::PermissionDenied;
  bool retryable = err == EAGAIN || err == EINTR || err == ENOSPC || err == EMFILE || err == ENFILE;
  return Error(code, what + ": " + std::strerror(err), retryable);
}

}  // namespace fim::core
