#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace skiff::log {

// One named logger per component (STYLE.md §8): agent, runtime, netproxy, hostinfo, master, store.
// Returns the shared logger, creating it on first use with the process-wide sink.
std::shared_ptr<spdlog::logger> get(std::string_view component);

// Chooses the sink once at startup: journald when running under systemd (JOURNAL_STREAM set),
// stderr otherwise. `level` is a spdlog level name ("info", "debug"...).
void setup(std::string_view level, bool force_stderr = false);

// A key=value field for structured messages, printed as klog's InfoS does: key="value".
template <typename T>
struct Kv {
  std::string_view key;
  const T& value;
};
template <typename T>
Kv<T> kv(std::string_view key, const T& value) {
  return {key, value};
}

}  // namespace skiff::log

template <typename T>
struct fmt::formatter<skiff::log::Kv<T>> : fmt::formatter<std::string_view> {
  template <typename Ctx>
  auto format(const skiff::log::Kv<T>& f, Ctx& ctx) const {
    if constexpr (std::is_arithmetic_v<T>) {
      return fmt::format_to(ctx.out(), "{}={}", f.key, f.value);
    } else {
      return fmt::format_to(ctx.out(), "{}=\"{}\"", f.key, f.value);
    }
  }
};

// SKIFF_LOG_INFO(logger, "Container started", kv("pod", ref), kv("containerID", id))
// -> Container started pod="default/web-0" containerID="a1b2"
#define SKIFF_LOG_(lg, lvl, msg, ...)                                                        \
  do {                                                                                       \
    auto& skiff_lg_ = (lg);                                                                  \
    if (skiff_lg_->should_log(lvl)) {                                                        \
      skiff_lg_->log(lvl, "{}", ::skiff::log::detail::line(msg __VA_OPT__(, ) __VA_ARGS__)); \
    }                                                                                        \
  } while (0)
#define SKIFF_LOG_TRACE(lg, msg, ...) \
  SKIFF_LOG_(lg, spdlog::level::trace, msg __VA_OPT__(, ) __VA_ARGS__)
#define SKIFF_LOG_DEBUG(lg, msg, ...) \
  SKIFF_LOG_(lg, spdlog::level::debug, msg __VA_OPT__(, ) __VA_ARGS__)
#define SKIFF_LOG_INFO(lg, msg, ...) \
  SKIFF_LOG_(lg, spdlog::level::info, msg __VA_OPT__(, ) __VA_ARGS__)
#define SKIFF_LOG_WARN(lg, msg, ...) \
  SKIFF_LOG_(lg, spdlog::level::warn, msg __VA_OPT__(, ) __VA_ARGS__)
#define SKIFF_LOG_ERROR(lg, msg, ...) \
  SKIFF_LOG_(lg, spdlog::level::err, msg __VA_OPT__(, ) __VA_ARGS__)

namespace skiff::log::detail {
template <typename... F>
std::string line(std::string_view msg, const F&... fields) {
  std::string out(msg);
  ((out += ' ', out += fmt::format("{}", fields)), ...);
  return out;
}
}  // namespace skiff::log::detail
