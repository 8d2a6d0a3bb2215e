#pragma once

#include <source_location>
#include <string>
#include <string_view>

namespace skiff {

// What went wrong, in the vocabulary master-lite maps to Kubernetes Status reasons
// (NotFound -> 404 NotFound, AlreadyExists -> 409 AlreadyExists, Conflict -> 409 Conflict,
// Invalid -> 422 Invalid, BadRequest -> 400, Forbidden -> 403, Unauthorized -> 401,
// Gone -> 410 Expired, TooLarge -> 413, Unsupported -> 415, Unavailable -> 503, Timeout -> 504,
// Internal -> 500).
enum class ErrorCode {
  Internal,
  NotFound,
  AlreadyExists,
  Conflict,
  Invalid,
  BadRequest,
  Forbidden,
  Unauthorized,
  Gone,
  TooLarge,
  Unsupported,
  Unavailable,
  Timeout,
  Cancelled,
};

std::string_view errorCodeName(ErrorCode code);

// A value-based error (STYLE.md §4): a code, the errno captured at the failing call (0 if none),
// a lower-case message in the form "verb object: cause", and where it was made.
class Error {
 public:
  Error(ErrorCode code, std::string message,
        std::source_location where = std::source_location::current());
  Error(ErrorCode code, int sys_errno, std::string message,
        std::source_location where = std::source_location::current());

  // An error from errno: message becomes "<what>: <strerror(errno)>", code is derived from errno
  // (ENOENT -> NotFound, EEXIST -> AlreadyExists, EINVAL -> Invalid, EACCES/EPERM -> Forbidden...).
  static Error fromErrno(int sys_errno, std::string what,
                         std::source_location where = std::source_location::current());

  ErrorCode code() const { return code_; }
  int sysErrno() const { return sys_errno_; }
  const std::string& message() const { return message_; }
  const std::source_location& where() const { return where_; }

  // Adds context on the way up: Error("add link: File exists").wrap("create veth 'sk1'")
  // -> "create veth 'sk1': add link: File exists". Code and errno are kept.
  Error& wrap(std::string_view context) &;
  Error&& wrap(std::string_view context) &&;

  bool is(ErrorCode code) const { return code_ == code; }

 private:
  ErrorCode code_;
  int sys_errno_ = 0;
  std::string message_;
  std::source_location where_;
};

}  // namespace skiff
