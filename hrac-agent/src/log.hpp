// Levelled logging, one line per event: to stderr with a UTC timestamp
// (stderr is unbuffered, so a supervisor, the journal or a test reading it
// sees each line as soon as it is written), or to syslog with the level as
// the priority (facility daemon, ident "hrac-agent", with the PID).
#pragma once
#include <string>

namespace hrac {

enum class LogLevel { error = 0, warn = 1, info = 2, debug = 3 };
enum class LogTarget { stderr_stream, syslog };

// "error", "warn", "info", "debug"; false for anything else.
bool parse_log_level(const std::string &name, LogLevel &out);
const char *log_level_name(LogLevel level);
// "stderr", "syslog"; false for anything else.
bool parse_log_target(const std::string &name, LogTarget &out);
const char *log_target_name(LogTarget target);
// LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG.
int syslog_priority(LogLevel level);

void set_log_level(LogLevel level);
bool log_enabled(LogLevel level);
// syslog: openlog() now; stderr: closelog() if syslog was open.
void set_log_target(LogTarget target);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace hrac
