/*
 * Points in time as people type them for `kam audit log --since/--until`:
 * "2024-05-01", "2024-05-01 14:30", "2024-05-01T14:30:05", with "Z" for UTC
 * (local time otherwise), "@UNIX_SECONDS", or an age ("90s", "15m", "2h",
 * "7d": that long before now). Pure: no I/O but the clock and the time zone.
 */
#define _XOPEN_SOURCE 700   /* strptime */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"

static bool is_age(const char *s, int64_t now, int64_t *out)
{
	static const struct { char unit; int64_t secs; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 7 * 86400 },
	};
	char *end;
	long long n;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (end == s || errno || n < 0 || !end[0] || end[1] || s[0] < '0' || s[0] > '9')
		return false;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (*end == units[i].unit && n <= (now / units[i].secs)) {
			*out = now - n * units[i].secs;
			return true;
		}
	return false;
}

/* A date, optionally a time (HH:MM or HH:MM:SS) after ' ' or 'T', optionally "Z". */
static bool is_datetime(const char *s, int64_t *out)
{
	static const char *const formats[] = { "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M",
					       "%Y-%m-%dT%H:%M", "%Y-%m-%d" };
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		struct tm tm;
		const char *rest;
		time_t t;
		bool utc;

		memset(&tm, 0, sizeof(tm));
		rest = strptime(s, formats[i], &tm);
		if (!rest)
			continue;
		utc = strcmp(rest, "Z") == 0;
		if (*rest && !utc)
			continue;
		tm.tm_isdst = -1;
		t = utc ? timegm(&tm) : mktime(&tm);
		if (t == (time_t)-1 || t < 0)
			return false;
		*out = (int64_t)t;
		return true;
	}
	return false;
}

int cli_time_parse(const char *s, int64_t now, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !*s)
		return KAM_EINVAL;
	if (s[0] == '@') {
		errno = 0;
		v = strtoll(s + 1, &end, 10);
		if (end == s + 1 || *end || errno || v < 0)
			return KAM_EINVAL;
		*out = v;
		return 0;
	}
	if (is_age(s, now, out) || is_datetime(s, out))
		return 0;
	return KAM_EINVAL;
}
