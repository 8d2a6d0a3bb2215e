#include "skiff/common/http_status.h"

namespace skiff {

ErrorCode errorCodeForHttpStatus(int status, std::string_view reason) {
  switch (status) {
    case 400:
      return ErrorCode::BadRequest;
    case 401:
      return ErrorCode::Unauthorized;
    case 403:
      return ErrorCode::Forbidden;
    case 404:
      return ErrorCode::NotFound;
    case 409:
      return reason == "AlreadyExists" ? ErrorCode::AlreadyExists : ErrorCode::Conflict;
    case 410:
      return ErrorCode::Gone;
    case 413:
      return ErrorCode::TooLarge;
    case 415:
      return ErrorCode::Unsupported;
    case 422:
      return ErrorCode::Invalid;
    case 503:
      return ErrorCode::Unavailable;
    case 504:
      return ErrorCode::Timeout;
    default:
      return status >= 400 && status < 500 ? ErrorCode::BadRequest : ErrorCode::Internal;
  }
}

}  // namespace skiff
