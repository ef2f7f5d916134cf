/*
 * Logging to stderr with a level and an optional prefix (the peer or session).
 * The daemon logs through this; the client prints errors itself.
 */
#ifndef KAM_LOG_H
#define KAM_LOG_H

enum kam_log_level { KAM_LOG_DEBUG, KAM_LOG_INFO, KAM_LOG_WARN, KAM_LOG_ERROR };

void kam_log_set_level(enum kam_log_level level);
/* Parse "debug"/"info"/"warn"/"error"; returns 0 or KAM_EINVAL. */
int kam_log_parse_level(const char *s, enum kam_log_level *out);
void kam_log(enum kam_log_level level, const char *prefix, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_debug(...) kam_log(KAM_LOG_DEBUG, NULL, __VA_ARGS__)
#define log_info(...)  kam_log(KAM_LOG_INFO, NULL, __VA_ARGS__)
#define log_warn(...)  kam_log(KAM_LOG_WARN, NULL, __VA_ARGS__)
#define log_error(...) kam_log(KAM_LOG_ERROR, NULL, __VA_ARGS__)

#endif
