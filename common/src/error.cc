#include "skiff/common/error.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "skiff/common/assert.h"
#include "skiff/common/enum_names.h"

namespace skiff {

namespace detail {
void checkFailed(const char* expr, const char* msg, const char* file, int line) {
  std::fprintf(stderr, "skiff: check failed at %s:%d: %s %s\n", file, line, expr, msg);
  std::abort();
}
}  // namespace detail

namespace {
constexpr EnumName<ErrorCode> kCodeNames[] = {{ErrorCode::Internal, "Internal"},
                                              {ErrorCode::NotFound, "NotFound"},
                                              {ErrorCode::AlreadyExists, "AlreadyExists"},
                                              {ErrorCode::Conflict, "Conflict"},
                                              {ErrorCode::Invalid, "Invalid"},
                                              {ErrorCode::BadRequest, "BadRequest"},
                                              {ErrorCode::Forbidden, "Forbidden"},
                                              {ErrorCode::Unauthorized, "Unauthorized"},
                                              {ErrorCode::Gone, "Gone"},
                                              {ErrorCode::TooLarge, "TooLarge"},
                                              {ErrorCode::Unsupported, "Unsupported"},
                                              {ErrorCode::Unavailable, "Unavailable"},
                                              {ErrorCode::Timeout, "Timeout"},
                                              {ErrorCode::Cancelled, "Cancelled"}};
}  // namespace

std::string_view errorCodeName(ErrorCode code) { return nameOf(kCodeNames, code, "Unknown"); }

Error::Error(ErrorCode code, std::string message, std::source_location where)
    : code_(code), message_(std::move(message)), where_(where) {}

Error::Error(ErrorCode code, int sys_errno, std::string message, std::source_location where)
    : code_(code), sys_errno_(sys_errno), message_(std::move(message)), where_(where) {}

namespace {
ErrorCode codeForErrno(int e) {
  switch (e) {
    case ENOENT:
    case ESRCH:
    case ENODEV:
    case ENXIO:
      return ErrorCode::NotFound;
    case EEXIST:
      return ErrorCode::AlreadyExists;
    case EINVAL:
    case ERANGE:
      return ErrorCode::Invalid;
    case EACCES:
    case EPERM:
      return ErrorCode::Forbidden;
    case EBUSY:
    case EAGAIN:
      return ErrorCode::Unavailable;
    case ETIMEDOUT:
      return ErrorCode::Timeout;
    case ECANCELED:
      return ErrorCode::Cancelled;
    case E2BIG:
    case EFBIG:
      return ErrorCode::TooLarge;
    case ENOTSUP:
      return ErrorCode::Unsupported;
    default:
      return ErrorCode::Internal;
  }
}
}  // namespace

Error Error::fromErrno(int sys_errno, std::string what, std::source_location where) {
  std::string msg = std::move(what);
  msg += ": ";
  msg += std::strerror(sys_errno);
  return Error(codeForErrno(sys_errno), sys_errno, std::move(msg), where);
}

Error& Error::wrap(std::string_view context) & {
  std::string m(context);
  m += ": ";
  m += message_;
  message_ = std::move(m);
  return *this;
}

Error&& Error::wrap(std::string_view context) && {
  wrap(context);
  return std::move(*this);
}

}  // namespace skiff
