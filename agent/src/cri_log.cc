#include "skiff/agent/cri_log.h"

#include <ctime>
#include <deque>

#include "skiff/common/rfc3339.h"

namespace skiff::agent {

std::optional<int64_t> parseRfc3339Nano(std::string_view ts) {
  auto t = parseRfc3339(ts);
  if (!t) return std::nullopt;
  return static_cast<int64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t->time_since_epoch()).count());
}

Result<CriLogLine> parseCriLogLine(std::string_view line) {
  auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return Error(ErrorCode::Invalid, "cri log: no timestamp");
  auto sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return Error(ErrorCode::Invalid, "cri log: no stream");
  CriLogLine out;
  out.timestamp = std::string(line.substr(0, sp1));
  auto ns = parseRfc3339Nano(out.timestamp);
  if (!ns) return Error(ErrorCode::Invalid, "cri log: bad timestamp");
  out.unix_ns = *ns;
  out.stream = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  if (out.stream != "stdout" && out.stream != "stderr") {
    return Error(ErrorCode::Invalid, "cri log: bad stream '" + out.stream + "'");
  }
  std::string_view rest = line.substr(sp2 + 1);
  // Tag field: "F", "P" (possibly "F:..." with more tags); old format had none.
  auto sp3 = rest.find(' ');
  std::string_view tag = sp3 == std::string_view::npos ? rest : rest.substr(0, sp3);
  if (!tag.empty() && (tag[0] == 'P' || tag[0] == 'F') && (tag.size() == 1 || tag[1] == ':')) {
    out.partial = tag[0] == 'P';
    out.content = sp3 == std::string_view::npos ? "" : std::string(rest.substr(sp3 + 1));
  } else {
    out.content = std::string(rest);
  }
  return out;
}

namespace {

// Joins partial lines into whole log entries: (first timestamp, text with '\n' if complete).
struct Entry {
  std::string timestamp;
  int64_t unix_ns;
  std::string text;
};

}  // namespace

std::string renderCriLog(std::string_view text, const LogOptions& opts) {
  std::deque<Entry> entries;
  std::string partial_text, partial_ts;
  int64_t partial_ns = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    auto nl = text.find('\n', start);
    std::string_view line =
        text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? text.size() : nl + 1;
    auto parsed = parseCriLogLine(line);
    if (!parsed) continue;
    if (partial_text.empty() && partial_ts.empty()) {
      partial_ts = parsed->timestamp;
      partial_ns = parsed->unix_ns;
    }
    partial_text += parsed->content;
    if (parsed->partial) continue;
    entries.push_back({partial_ts, partial_ns, partial_text + "\n"});
    partial_text.clear();
    partial_ts.clear();
  }
  // A last partial record is output that ended without a newline (`echo -n DONE`): kubelet
  // prints it as it is.
  if (!partial_ts.empty()) entries.push_back({partial_ts, partial_ns, partial_text});
  if (opts.since_unix_ns) {
    std::erase_if(entries, [&](const Entry& e) { return e.unix_ns < *opts.since_unix_ns; });
  }
  if (opts.tail_lines && *opts.tail_lines >= 0) {
    while (static_cast<int64_t>(entries.size()) > *opts.tail_lines) entries.pop_front();
  }
  std::string out;
  for (const auto& e : entries) {
    if (opts.timestamps) out += e.timestamp + " ";
    out += e.text;
    if (opts.limit_bytes && static_cast<int64_t>(out.size()) >= *opts.limit_bytes) {
      out.resize(static_cast<std::size_t>(*opts.limit_bytes));
      break;
    }
  }
  return out;
}

std::string CriLogFollower::feed(std::string_view data) {
  pending_.append(data);
  std::string out;
  std::size_t start = 0;
  for (;;) {
    auto nl = pending_.find('\n', start);
    if (nl == std::string::npos) break;
    auto parsed = parseCriLogLine(std::string_view(pending_).substr(start, nl - start));
    start = nl + 1;
    if (!parsed) continue;
    if (opts_.since_unix_ns && parsed->unix_ns < *opts_.since_unix_ns) continue;
    if (opts_.timestamps) out += parsed->timestamp + " ";
    out += parsed->content;
    if (!parsed->partial) out += "\n";
  }
  pending_.erase(0, start);
  if (opts_.limit_bytes) {
    int64_t room = *opts_.limit_bytes - written_;
    if (room <= 0) return "";
    if (static_cast<int64_t>(out.size()) > room) out.resize(static_cast<std::size_t>(room));
  }
  written_ += static_cast<int64_t>(out.size());
  return out;
}

}  // namespace skiff::agent
