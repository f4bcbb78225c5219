/* log.h - the one logging facility of omx.
 *
 * Libraries do not log; the owner of an operation logs its failure once. Each .c that logs
 * defines LOG_PREFIX before including this header. Output goes to stderr (omxd runs in the
 * foreground; systemd/journald captures it). Never pass key material to these macros.
 */
#pragma once
#include <stdarg.h>

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* The process-wide log level (one of the two globals the style allows). Default: INFO. */
extern enum log_level log_level;

/* Parses "error|warn|info|debug"; returns 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *ret_level);

void log_emit(enum log_level lvl, const char *prefix, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#ifndef LOG_PREFIX
#define LOG_PREFIX "omx"
#endif

#define log_error(...) log_emit(LOG_LVL_ERROR, LOG_PREFIX, __VA_ARGS__)
#define log_warn(...) log_emit(LOG_LVL_WARN, LOG_PREFIX, __VA_ARGS__)
#define log_info(...) log_emit(LOG_LVL_INFO, LOG_PREFIX, __VA_ARGS__)
#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (log_level >= LOG_LVL_DEBUG)                                                    \
			log_emit(LOG_LVL_DEBUG, LOG_PREFIX, __VA_ARGS__);                          \
	} while (0)
