/*
 * Logging to stderr (log.h): "2026-11-27T09:30:00.123Z LEVEL [prefix] message".
 * Each entry is formatted into one buffer and written with one call so lines
 * from several threads do not interleave; control characters are replaced so
 * a peer-supplied string can never forge a log line.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "log.h"

/* One log line at most; longer messages are cut and marked. */
#define LOG_LINE_MAX 2048

/* Index: enum kam_log_level. The name is what configuration says, the tag what the line shows. */
static const struct {
	const char *name;
	const char *tag;
} levels[] = {
	[KAM_LOG_DEBUG] = { "debug", "DEBUG" },
	[KAM_LOG_INFO] = { "info", "INFO" },
	[KAM_LOG_WARN] = { "warn", "WARN" },
	[KAM_LOG_ERROR] = { "error", "ERROR" },
};

#define LEVEL_COUNT (sizeof(levels) / sizeof(levels[0]))

/* Read by worker threads too, hence atomic. */
static atomic_int log_level = KAM_LOG_INFO;

void kam_log_set_level(enum kam_log_level level)
{
	atomic_store(&log_level, (int)level);
}

int kam_log_parse_level(const char *s, enum kam_log_level *out)
{
	for (size_t i = 0; s && i < LEVEL_COUNT; i++) {
		if (strcmp(s, levels[i].name) == 0) {
			*out = (enum kam_log_level)i;
			return 0;
		}
	}
	return KAM_EINVAL;
}

/* Replace control characters (newlines included) with '?', keeping one entry per line. */
static void scrub(char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			s[i] = '?';
	}
}

void kam_log(enum kam_log_level level, const char *prefix, const char *fmt, ...)
{
	static const char cut[] = "...";
	char line[LOG_LINE_MAX];
	struct timespec ts;
	struct tm tm;
	size_t n, head;
	int w;
	va_list ap;

	if ((int)level < atomic_load(&log_level) || (unsigned)level >= LEVEL_COUNT)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	w = snprintf(line + n, sizeof(line) - n, ".%03ldZ %s ", ts.tv_nsec / 1000000L, levels[level].tag);
	n += w > 0 ? (size_t)w : 0;
	head = n;
	if (prefix && *prefix) {
		w = snprintf(line + n, sizeof(line) - n, "[%s] ", prefix);
		n += w > 0 ? (size_t)w : 0;
	}
	if (n < sizeof(line)) {
		va_start(ap, fmt);
		w = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
		n += w > 0 ? (size_t)w : 0;
	}
	/* Leave room for the newline; mark a truncated message. */
	if (n > sizeof(line) - 1) {
		n = sizeof(line) - 1;
		memcpy(line + n - (sizeof(cut) - 1), cut, sizeof(cut) - 1);
	}
	scrub(line + head, n - head);
	line[n++] = '\n';
	fwrite(line, 1, n, stderr);
}
