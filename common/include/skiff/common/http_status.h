#pragma once

// skiff's error codes as HTTP statuses and back, for the API server's Status responses and for
// clients of a Kubernetes API server or webhook. One table serves both directions.
// (Apart from error.h, which nearly every file includes.)

#include <string_view>

#include "skiff/common/error.h"

namespace skiff {

// An HTTP status code and the Kubernetes Status reason that goes with it.
struct HttpStatus {
  int code;
  const char* reason;
};

// The status and reason a Kubernetes API server answers an error with, as apimachinery's errors
// package does (Gone is a watch's expired resourceVersion: 410 Expired). Codes without an HTTP
// meaning of their own are 500 InternalError.
HttpStatus httpStatusFor(ErrorCode code);

// The code for an HTTP status a Kubernetes API server (or a webhook) answered with: the inverse
// of httpStatusFor. 409 is AlreadyExists when the Status reason says so, else Conflict; other
// 4xx are BadRequest, other 5xx Internal.
ErrorCode errorCodeForHttpStatus(int status, std::string_view reason = "");

}  // namespace skiff
