#include "log.hpp"

#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <sys/time.h>
#include <syslog.h>

namespace hrac {

namespace {

LogLevel current_level = LogLevel::info;
LogTarget current_target = LogTarget::stderr_stream;

void log_line(LogLevel level, const char *fmt, va_list ap)
{
    if (!log_enabled(level))
        return;
    if (current_target == LogTarget::syslog) {
        // syslog stamps the time and the level itself.
        vsyslog(syslog_priority(level), fmt, ap);
        return;
    }

    timeval now{};
    gettimeofday(&now, nullptr);
    tm utc{};
    gmtime_r(&now.tv_sec, &utc);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);

    // Format the whole line first so one event is one write(): lines of
    // concurrent writers to the same stderr do not interleave.
    char message[2048];
    vsnprintf(message, sizeof message, fmt, ap);
    char line[2200];
    const int n = snprintf(line, sizeof line, "%s.%03ldZ %-5s %s\n", stamp, static_cast<long>(now.tv_usec / 1000),
                           log_level_name(level), message);
    if (n > 0)
        fwrite(line, 1, static_cast<size_t>(n) < sizeof line ? n : sizeof line - 1, stderr);
}

}  // namespace

bool parse_log_level(const std::string &name, LogLevel &out)
{
    for (LogLevel l : {LogLevel::error, LogLevel::warn, LogLevel::info, LogLevel::debug}) {
        if (name == log_level_name(l)) {
            out = l;
            return true;
        }
    }
    return false;
}

const char *log_level_name(LogLevel level)
{
    switch (level) {
    case LogLevel::error: return "error";
    case LogLevel::warn: return "warn";
    case LogLevel::info: return "info";
    case LogLevel::debug: return "debug";
    }
    return "?";
}

bool parse_log_target(const std::string &name, LogTarget &out)
{
    for (LogTarget t : {LogTarget::stderr_stream, LogTarget::syslog}) {
        if (name == log_target_name(t)) {
            out = t;
            return true;
        }
    }
    return false;
}

const char *log_target_name(LogTarget target) { return target == LogTarget::syslog ? "syslog" : "stderr"; }

int syslog_priority(LogLevel level)
{
    switch (level) {
    case LogLevel::error: return LOG_ERR;
    case LogLevel::warn: return LOG_WARNING;
    case LogLevel::info: return LOG_INFO;
    case LogLevel::debug: return LOG_DEBUG;
    }
    return LOG_INFO;
}

void set_log_level(LogLevel level) { current_level = level; }

void set_log_target(LogTarget target)
{
    if (target == current_target)
        return;
    if (target == LogTarget::syslog)
        openlog("hrac-agent", LOG_PID, LOG_DAEMON);
    else
        closelog();
    current_target = target;
}

bool log_enabled(LogLevel level) { return static_cast<int>(level) <= static_cast<int>(current_level); }

#define HRAC_DEFINE_LOG(name, level)                                                                                   \
    void name(const char *fmt, ...)                                                                                    \
    {                                                                                                                  \
        va_list ap;                                                                                                    \
        va_start(ap, fmt);                                                                                             \
        log_line(level, fmt, ap);                                                                                      \
        va_end(ap);                                                                                                    \
    }

HRAC_DEFINE_LOG(log_error, LogLevel::error)
HRAC_DEFINE_LOG(log_warn, LogLevel::warn)
HRAC_DEFINE_LOG(log_info, LogLevel::info)
HRAC_DEFINE_LOG(log_debug, LogLevel::debug)

}  // namespace hrac
