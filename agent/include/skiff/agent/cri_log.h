#pragma once

// Reading container logs in the CRI format the runtime writes
// ("2024-01-02T03:04:05.123456789Z stdout F message"), the way kubelet's
// pkg/kubelet/kuberuntime/logs does for /containerLogs: partial lines ("P") are joined,
// timestamps optionally kept, tailLines/sinceSeconds/limitBytes applied.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "skiff/common/result.h"

namespace skiff::agent {

struct CriLogLine {
  std::string timestamp;  // as written (RFC 3339 with nanoseconds)
  int64_t unix_ns = 0;
  std::string stream;  // stdout | stderr
  bool partial = false;
  std::string content;  // without the trailing newline
};

// Parses one line (without its '\n'); Invalid for lines not in CRI format.
Result<CriLogLine> parseCriLogLine(std::string_view line);
// RFC 3339 with fractional seconds -> Unix nanoseconds.
std::optional<int64_t> parseRfc3339Nano(std::string_view ts);

struct LogOptions {
  bool timestamps = false;
  std::optional<int64_t> tail_lines;
  std::optional<int64_t> since_unix_ns;  // from sinceSeconds/sinceTime
  std::optional<int64_t> limit_bytes;
};

// Renders the complete CRI log text with `opts` into what `kubectl logs` prints.
std::string renderCriLog(std::string_view text, const LogOptions& opts);

// Incremental renderer for follow: feed raw file bytes, get rendered output back.
class CriLogFollower {
 public:
  explicit CriLogFollower(LogOptions opts) : opts_(opts) {}
  std::string feed(std::string_view data);
  bool limitReached() const { return opts_.limit_bytes && written_ >= *opts_.limit_bytes; }

 private:
  LogOptions opts_;
  std::string pending_;
  int64_t written_ = 0;
};

}  // namespace skiff::agent
