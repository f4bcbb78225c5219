/* log.c - timestamped, levelled lines on stderr; see log.h. */
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

enum log_level log_level = LOG_LVL_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

int log_level_parse(const char *s, enum log_level *ret_level)
{
	for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*ret_level = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

void log_emit(enum log_level lvl, const char *prefix, const char *fmt, ...)
{
	if (lvl > log_level)
		return;
	int saved = errno;
	struct timespec ts;
	(void)clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	(void)gmtime_r(&ts.tv_sec, &tm);
	char line[1024];
	int n = snprintf(line, sizeof(line), "%02d:%02d:%02d.%03ld %s %s: ", tm.tm_hour, tm.tm_min,
			 tm.tm_sec, ts.tv_nsec / 1000000, level_names[lvl], prefix);
	if (n < 0)
		n = 0;
	va_list ap;
	va_start(ap, fmt);
	if ((size_t)n < sizeof(line))
		(void)vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	(void)fprintf(stderr, "%s\n", line);
	errno = saved;
}
