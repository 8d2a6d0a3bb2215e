#include "skiff/common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <systemd/sd-journal.h>

#include <cstdlib>
#include <mutex>

#include <spdlog/sinks/base_sink.h>

namespace skiff::log {
namespace {

// spdlog's levels as journald priorities; a level not listed (off) is logged as info.
struct JournalPriority {
  spdlog::level::level_enum level;
  int priority;
};
constexpr JournalPriority kJournalPriorities[] = {
    {spdlog::level::trace, LOG_DEBUG}, {spdlog::level::debug, LOG_DEBUG},
    {spdlog::level::info, LOG_INFO},   {spdlog::level::warn, LOG_WARNING},
    {spdlog::level::err, LOG_ERR},     {spdlog::level::critical, LOG_CRIT},
};

int journalPriority(spdlog::level::level_enum level) {
  for (const auto& p : kJournalPriorities) {
    if (p.level == level) return p.priority;
  }
  return LOG_INFO;
}

// Writes each record to journald with its priority and the component as SYSLOG_IDENTIFIER-like
// field, so `journalctl -u skiff-agent` shows levels properly.
class JournalSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const int prio = journalPriority(msg.level);
    std::string text(msg.payload.data(), msg.payload.size());
    std::string logger(msg.logger_name.data(), msg.logger_name.size());
    (void)sd_journal_send("MESSAGE=%s", text.c_str(), "PRIORITY=%d", prio, "SKIFF_COMPONENT=%s",
                          logger.c_str(), nullptr);
  }
  void flush_() override {}
};

std::mutex g_mu;
spdlog::sink_ptr g_sink;
spdlog::level::level_enum g_level = spdlog::level::info;

spdlog::sink_ptr sink() {
  if (!g_sink) g_sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  return g_sink;
}

}  // namespace

void setup(std::string_view level, bool force_stderr) {
  std::lock_guard lk(g_mu);
  g_level = spdlog::level::from_str(std::string(level));
  if (!force_stderr && std::getenv("JOURNAL_STREAM") != nullptr) {
    g_sink = std::make_shared<JournalSink>();
  } else {
    g_sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  }
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) {
    l->sinks().clear();
    l->sinks().push_back(g_sink);
    l->set_level(g_level);
  });
}

std::shared_ptr<spdlog::logger> get(std::string_view component) {
  std::lock_guard lk(g_mu);
  std::string name(component);
  if (auto l = spdlog::get(name)) return l;
  auto l = std::make_shared<spdlog::logger>(name, sink());
  l->set_level(g_level);
  l->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %L %n: %v", spdlog::pattern_time_type::utc);
  spdlog::register_logger(l);
  return l;
}

}  // namespace skiff::log
