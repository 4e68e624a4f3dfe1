/* log.h - one logging function with levels; one line per event on stderr.
 * JSON lines by default, human-readable text when debug is on. Never log keys or payloads. */
#ifndef ENGRAM_UTIL_LOG_H
#define ENGRAM_UTIL_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/* Configure once at start-up, before threads exist. */
void log_setup(enum log_level min, int human);
int log_enabled(enum log_level level);
void log_write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
