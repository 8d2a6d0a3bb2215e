#include "skiff/common/http_status.h"

namespace skiff {
namespace {

struct StatusRow {
  ErrorCode code;
  HttpStatus status;
};

// Where two codes share a status (409), the first row is the one a reply without a matching
// reason reads as.
constexpr StatusRow kStatusRows[] = {
    {ErrorCode::NotFound, {404, "NotFound"}},
    {ErrorCode::Conflict, {409, "Conflict"}},
    {ErrorCode::AlreadyExists, {409, "AlreadyExists"}},
    {ErrorCode::Invalid, {422, "Invalid"}},
    {ErrorCode::BadRequest, {400, "BadRequest"}},
    {ErrorCode::Forbidden, {403, "Forbidden"}},
    {ErrorCode::Unauthorized, {401, "Unauthorized"}},
    {ErrorCode::Gone, {410, "Expired"}},
    {ErrorCode::TooLarge, {413, "RequestEntityTooLarge"}},
    {ErrorCode::Unsupported, {415, "UnsupportedMediaType"}},
    {ErrorCode::Unavailable, {503, "ServiceUnavailable"}},
    {ErrorCode::Timeout, {504, "Timeout"}},
};
constexpr HttpStatus kInternalError = {500, "InternalError"};

}  // namespace

HttpStatus httpStatusFor(ErrorCode code) {
  for (const auto& row : kStatusRows) {
    if (row.code == code) return row.status;
  }
  return kInternalError;
}

ErrorCode errorCodeForHttpStatus(int status, std::string_view reason) {
  const StatusRow* first = nullptr;
  for (const auto& row : kStatusRows) {
    if (row.status.code != status) continue;
    if (row.status.reason == reason) return row.code;
    if (first == nullptr) first = &row;
  }
  if (first != nullptr) return first->code;
  return status >= 400 && status < 500 ? ErrorCode::BadRequest : ErrorCode::Internal;
}

}  // namespace skiff
