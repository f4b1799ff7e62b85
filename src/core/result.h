#pragma once
// Result<T>: the return type of everything that can fail in normal operation.

#include <expected>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace fim::core {

enum class ErrorCode {
  InvalidArgument,  // bad input from a user or a file: fix the input
  NotFound,
  PermissionDenied,
  Io,               // an OS call failed; see the message
  Parse,
  Unavailable,      // a peer or resource is down for now
  Corrupt,          // stored data is damaged (a checksum failed): it cannot be read again as it is
  Internal,
};

const char* toString(ErrorCode code);

class Error {
 public:
  Error(ErrorCode code, std::string message, bool retryable = false)
      : code_(code), message_(std::move(message)), retryable_(retryable) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  bool retryable() const { return retryable_; }

  // Prefixes context ("opening /x: ") to the message, keeping code and retryability.
  Error context(const std::string& what) const& { return Error(code_, what + ": " + message_, retryable_); }

 private:
  ErrorCode code_;
  std::string message_;
  bool retryable_;
};

template <typename T>
using Result = std::expected<T, Error>;

using Status = Result<void>;

inline std::unexpected<Error> fail(ErrorCode code, std::string message, bool retryable = false) {
  return std::unexpected<Error>(Error(code, std::move(message), retryable));
}

template <typename... Args>
std::unexpected<Error> failf(ErrorCode code, fmt::format_string<Args...> format, Args&&... args) {
  return fail(code, fmt::format(format, std::forward<Args>(args)...));
}

// An Error from errno after a failed system call: "what: strerror(errno)".
Error errnoError(const std::string& what, int err);

}  // namespace fim::core
