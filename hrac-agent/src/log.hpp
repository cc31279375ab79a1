// Levelled logging to stderr, one line per event with a UTC timestamp.
// stderr is unbuffered, so a supervisor or a test reading it sees each line
// as soon as it is written.
#pragma once
#include <string>

namespace hrac {

enum class LogLevel { error = 0, warn = 1, info = 2, debug = 3 };

// "error", "warn", "info", "debug"; false for anything else.
bool parse_log_level(const std::string &name, LogLevel &out);
const char *log_level_name(LogLevel level);

void set_log_level(LogLevel level);
bool log_enabled(LogLevel level);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

} // namespace hrac
