#pragma once

// HTTP status codes as skiff's error codes, for clients of a Kubernetes API server or webhook.
// (Apart from error.h, which nearly every file includes.)

#include <string_view>

#include "skiff/common/error.h"

namespace skiff {

// The code for an HTTP status a Kubernetes API server (or a webhook) answered with. 409 is
// AlreadyExists when the Status reason says so, else Conflict; other 4xx are BadRequest, other
// 5xx Internal.
ErrorCode errorCodeForHttpStatus(int status, std::string_view reason = "");

}  // namespace skiff
