/*
 * kamd's configuration: built-in defaults, then a `key = value` file, then
 * command-line flags, all through one table of keys with their ranges.
 * It only parses and checks values: it must not open sockets, load
 * certificates or connect to the database.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "model.h"

/* Longer lines are a mistake, not a conninfo: refuse them instead of splitting them. */
#define CONFIG_MAX_LINE 4096
/* libargon2's floor: 8 KiB of memory per lane. */
#define CONFIG_ARGON2_KIB_PER_LANE 8u

#define KIB 1024LL
#define MIB (1024LL * 1024LL)
#define DAY_S (24LL * 3600LL)

struct config_key;
typedef int (*config_setter)(const struct config_key *k, struct kamd_config *c, const char *value,
			     char *why, size_t why_len);

/* One configurable key: how it is parsed, where it goes, and its range (numbers only). */
struct config_key {
	const char *name;
	config_setter set;
	size_t offset;
	long long min;
	long long max;
};

static int set_string(const struct config_key *k, struct kamd_config *c, const char *value, char *why, size_t why_len);
static int set_int(const struct config_key *k, struct kamd_config *c, const char *value, char *why, size_t why_len);
static int set_u32(const struct config_key *k, struct kamd_config *c, const char *value, char *why, size_t why_len);
static int set_listen(const struct config_key *k, struct kamd_config *c, const char *value, char *why, size_t why_len);
static int set_log_level(const struct config_key *k, struct kamd_config *c, const char *value, char *why, size_t why_len);

#define FIELD(f) offsetof(struct kamd_config, f)

static const struct config_key config_keys[] = {
	{ "listen",                   set_listen,    0,                              0, 65535 },
	{ "db",                       set_string,    FIELD(db),                      0, 0 },
	{ "db_admin",                 set_string,    FIELD(db_admin),                0, 0 },
	{ "db_listen",                set_string,    FIELD(db_listen),               0, 0 },
	{ "tls_cert",                 set_string,    FIELD(tls_cert),                0, 0 },
	{ "tls_key",                  set_string,    FIELD(tls_key),                 0, 0 },
	/* Post-login frames: room for a full account; capped so one peer cannot pin much memory. */
	{ "max_frame",                set_u32,       FIELD(max_frame),               4 * KIB, 64 * MIB },
	/* Pre-login frames: a login with the longest password must still fit. */
	{ "max_frame_prelogin",       set_u32,       FIELD(max_frame_prelogin),      2 * KIB, 64 * KIB },
	{ "db_pool_size",             set_int,       FIELD(db_pool_size),            1, 64 },
	{ "session_idle_timeout",     set_int,       FIELD(session_idle_s),          1, 30 * DAY_S },
	{ "session_absolute_timeout", set_int,       FIELD(session_absolute_s),      1, 365 * DAY_S },
	{ "argon2_memory_kib",        set_u32,       FIELD(argon2_m_kib),            CONFIG_ARGON2_KIB_PER_LANE, 4 * MIB },
	{ "argon2_iterations",        set_u32,       FIELD(argon2_t),                1, 64 },
	{ "argon2_parallelism",       set_u32,       FIELD(argon2_p),                1, 16 },
	{ "max_connections",          set_int,       FIELD(max_connections),         1, 65536 },
	{ "login_timeout",            set_int,       FIELD(login_timeout_s),         1, 3600 },
	{ "idle_timeout",             set_int,       FIELD(idle_timeout_s),          1, 30 * DAY_S },
	{ "max_inflight_per_session", set_int,       FIELD(max_inflight_per_session), 1, 1024 },
	{ "max_queued_output",        set_u32,       FIELD(max_queued_output),       4 * KIB, 1024 * MIB },
	{ "shutdown_grace",           set_int,       FIELD(shutdown_grace_s),        0, 3600 },
	{ "log_level",                set_log_level, FIELD(log_level),               0, 0 },
	/* -- hostile clients (issue 6) -- */
	{ "max_connections_per_address", set_int,    FIELD(max_connections_per_address), 1, 65536 },
	/* Hashing threads: each holds argon2_memory_kib while it works. */
	{ "hash_threads",             set_int,       FIELD(hash_threads),            1, 64 },
	{ "hash_queue",               set_int,       FIELD(hash_queue),              1, 65536 },
	{ "login_lockout_threshold",  set_int,       FIELD(login_lockout_threshold), 1, 1000 },
	{ "login_lockout_initial",    set_int,       FIELD(login_lockout_initial_s), 1, 3600 },
	{ "login_lockout_max",        set_int,       FIELD(login_lockout_max_s),     1, 30 * DAY_S },
	{ "login_failures_per_hour",  set_int,       FIELD(login_failures_per_hour), 1, 100000 },
	{ "login_failures_per_minute", set_int,      FIELD(login_failures_per_minute), 1, 100000 },
	/* -- audit and churn (issue 4) -- */
	{ "audit_checkpoint_file",    set_string,    FIELD(audit_checkpoint_file),   0, 0 },
	{ "audit_checkpoint_key",     set_string,    FIELD(audit_checkpoint_key),    0, 0 },
	{ "audit_checkpoint_interval", set_int,      FIELD(audit_checkpoint_interval_s), 1, DAY_S },
	{ "bulk_read_limit",          set_int,       FIELD(bulk_read_limit),         0, 1000000 },
	{ "bulk_read_limit_manager",  set_int,       FIELD(bulk_read_limit_manager), 0, 1000000 },
	{ "bulk_read_window",         set_int,       FIELD(bulk_read_window_s),      1, 30 * DAY_S },
	/* -- faults and scale-out (issue 7) -- */
	/* A request's deadline in the database: past 300 s a client has long given up. */
	{ "request_timeout",          set_int,       FIELD(request_timeout_s),       1, 300 },
};

#define CONFIG_NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))

static void say(char *why, size_t why_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	if (!why || why_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
}

static void *field_ptr(struct kamd_config *c, const struct config_key *k)
{
	return (char *)c + k->offset;
}

/* A whole decimal number within the key's range. */
static int parse_ranged(const struct config_key *k, const char *value, long long *out, char *why, size_t why_len)
{
	char *end = NULL;
	long long v;

	errno = 0;
	v = strtoll(value, &end, 10);
	if (end == value || *end != '\0' || errno == ERANGE || isspace((unsigned char)value[0])) {
		say(why, why_len, "'%s' is not a whole number", value);
		return KAM_EINVAL;
	}
	if (v < k->min || v > k->max) {
		say(why, why_len, "%lld is out of range (%lld..%lld)", v, k->min, k->max);
		return KAM_EINVAL;
	}
	*out = v;
	return 0;
}

static int replace_string(char **slot, const char *value, size_t len, char *why, size_t why_len)
{
	char *copy = strndup(value, len);

	if (!copy) {
		say(why, why_len, "out of memory");
		return KAM_ENOMEM;
	}
	free(*slot);
	*slot = copy;
	return 0;
}

static int set_string(const struct config_key *k, struct kamd_config *c, const char *value, char *why, size_t why_len)
{
	if (value[0] == '\0') {
		say(why, why_len, "must not be empty");
		return KAM_EINVAL;
	}
	return replace_string(field_ptr(c, k), value, strlen(value), why, why_len);
}

static int set_int(const struct config_key *k, struct kamd_config *c, const char *value, char *why, size_t why_len)
{
	long long v;
	int err = parse_ranged(k, value, &v, why, why_len);

	if (err)
		return err;
	*(int *)field_ptr(c, k) = (int)v;
	return 0;
}

static int set_u32(const struct config_key *k, struct kamd_config *c, const char *value, char *why, size_t why_len)
{
	long long v;
	int err = parse_ranged(k, value, &v, why, why_len);

	if (err)
		return err;
	*(uint32_t *)field_ptr(c, k) = (uint32_t)v;
	return 0;
}

/* HOST:PORT, or [IPV6]:PORT; port 0 asks the system for a free port. */
static int set_listen(const struct config_key *k, struct kamd_config *c, const char *value, char *why, size_t why_len)
{
	const char *host = value, *host_end, *port;
	long long v;
	int err;

	if (value[0] == '[') {
		host = value + 1;
		host_end = strchr(host, ']');
		if (!host_end || host_end[1] != ':') {
			say(why, why_len, "'%s' is not [ADDRESS]:PORT", value);
			return KAM_EINVAL;
		}
		port = host_end + 2;
	} else {
		host_end = strrchr(value, ':');
		if (!host_end) {
			say(why, why_len, "'%s' is not HOST:PORT", value);
			return KAM_EINVAL;
		}
		if (memchr(value, ':', (size_t)(host_end - value))) {
			say(why, why_len, "'%s': put an IPv6 address in brackets, e.g. [::1]:7433", value);
			return KAM_EINVAL;
		}
		port = host_end + 1;
	}
	if (host_end == host) {
		say(why, why_len, "'%s' has no host", value);
		return KAM_EINVAL;
	}
	err = parse_ranged(k, port, &v, why, why_len);
	if (err)
		return err;
	err = replace_string(&c->listen_host, host, (size_t)(host_end - host), why, why_len);
	if (err)
		return err;
	c->listen_port = (int)v;
	return 0;
}

static int set_log_level(const struct config_key *k, struct kamd_config *c, const char *value, char *why, size_t why_len)
{
	enum kam_log_level level;

	if (kam_log_parse_level(value, &level) != 0) {
		say(why, why_len, "'%s' is not one of debug, info, warn, error", value);
		return KAM_EINVAL;
	}
	return set_string(k, c, value, why, why_len);
}

void config_defaults(struct kamd_config *c)
{
	memset(c, 0, sizeof(*c));
	/* strdup failing here surfaces as a missing value in config_validate. */
	c->listen_host = strdup("127.0.0.1");
	c->listen_port = 7433;
	c->max_frame = 1u << 20;
	c->max_frame_prelogin = 4u << 10;
	c->db_pool_size = 4;
	c->session_idle_s = 900;
	c->session_absolute_s = 43200;
	c->argon2_m_kib = 65536;
	c->argon2_t = 3;
	c->argon2_p = 1;
	c->max_connections = 1024;
	c->shutdown_grace_s = 10;
	c->log_level = strdup("info");
	c->login_timeout_s = 10;
	c->idle_timeout_s = 900;
	c->max_inflight_per_session = 32;
	c->max_queued_output = 1u << 20;
	/* -- hostile clients (issue 6) -- */
	c->max_connections_per_address = 64;
	c->hash_threads = 4;
	c->hash_queue = 256;
	c->login_lockout_threshold = 5;
	c->login_lockout_initial_s = 1;
	c->login_lockout_max_s = 900;
	c->login_failures_per_hour = 100;
	c->login_failures_per_minute = 30;
	/* -- audit and churn (issue 4) -- */
	c->audit_checkpoint_interval_s = 300;
	c->bulk_read_limit = 30;
	c->bulk_read_limit_manager = 0;
	c->bulk_read_window_s = 600;
	/* -- faults and scale-out (issue 7) -- */
	c->request_timeout_s = 5;
}

int config_set(struct kamd_config *c, const char *key, const char *value, char *why, size_t why_len)
{
	char detail[256];
	int err;

	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		if (strcmp(config_keys[i].name, key) != 0)
			continue;
		err = config_keys[i].set(&config_keys[i], c, value, detail, sizeof(detail));
		if (err)
			say(why, why_len, "%s: %s", key, detail);
		return err;
	}
	say(why, why_len, "unknown key '%s'", key);
	return KAM_EINVAL;
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* One non-comment line "key = value"; a value may be wrapped in double quotes. */
static int config_line(struct kamd_config *c, char *line, char *why, size_t why_len)
{
	char *eq = strchr(line, '=');
	char *key, *value;
	size_t n;

	if (!eq) {
		say(why, why_len, "expected 'key = value'");
		return KAM_EINVAL;
	}
	*eq = '\0';
	key = trim(line);
	value = trim(eq + 1);
	if (key[0] == '\0') {
		say(why, why_len, "expected 'key = value'");
		return KAM_EINVAL;
	}
	n = strlen(value);
	if (n >= 2 && value[0] == '"' && value[n - 1] == '"') {
		value[n - 1] = '\0';
		value++;
	}
	return config_set(c, key, value, why, why_len);
}

int config_load_file(struct kamd_config *c, const char *path, char *why, size_t why_len)
{
	char line[CONFIG_MAX_LINE + 2];
	char detail[512];
	FILE *f = NULL;
	int lineno = 0, err = 0;

	f = fopen(path, "r");
	if (!f) {
		err = -errno;
		say(why, why_len, "%s: %s", path, strerror(errno));
		goto fail;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			say(why, why_len, "%s:%d: line longer than %d bytes", path, lineno, CONFIG_MAX_LINE);
			err = KAM_EINVAL;
			goto fail;
		}
		s = trim(line);
		if (s[0] == '\0' || s[0] == '#')
			continue;
		err = config_line(c, s, detail, sizeof(detail));
		if (err) {
			say(why, why_len, "%s:%d: %s", path, lineno, detail);
			goto fail;
		}
	}
	if (ferror(f)) {
		err = KAM_EINVAL;
		say(why, why_len, "%s: read error", path);
		goto fail;
	}
fail:
	if (f)
		fclose(f);
	return err;
}

static bool valid_username(const char *u)
{
	size_t n = strlen(u);

	if (n == 0 || n > KAM_MAX_USERNAME)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isgraph((unsigned char)u[i]))
			return false;
	return true;
}

/* Numbers may also be set directly in the struct (tests, main): re-check every range. */
static int validate_ranges(const struct kamd_config *c, char *why, size_t why_len)
{
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		const struct config_key *k = &config_keys[i];
		const char *p = (const char *)c + k->offset;
		long long v;

		if (k->set == set_int)
			v = *(const int *)p;
		else if (k->set == set_u32)
			v = *(const uint32_t *)p;
		else if (k->set == set_listen)
			v = c->listen_port;
		else
			continue;
		if (v < k->min || v > k->max) {
			say(why, why_len, "%s: %lld is out of range (%lld..%lld)", k->name, v, k->min, k->max);
			return KAM_EINVAL;
		}
	}
	return 0;
}

int config_validate(const struct kamd_config *c, char *why, size_t why_len)
{
	enum kam_log_level level;
	int err = validate_ranges(c, why, why_len);

	if (err)
		return err;
	if (!c->listen_host || !c->log_level) {
		say(why, why_len, "out of memory");
		return KAM_ENOMEM;
	}
	if (kam_log_parse_level(c->log_level, &level) != 0) {
		say(why, why_len, "log_level: '%s' is not one of debug, info, warn, error", c->log_level);
		return KAM_EINVAL;
	}
	if (!c->db) {
		say(why, why_len, "db: required (--db CONNINFO, or db = CONNINFO in the config file)");
		return KAM_EINVAL;
	}
	if (c->bootstrap_gm && !valid_username(c->bootstrap_gm)) {
		say(why, why_len, "--bootstrap-gm: '%s' is not a user name (1 to %d printable characters, no spaces)",
		    c->bootstrap_gm, KAM_MAX_USERNAME);
		return KAM_EINVAL;
	}
	/* Creating the first GM talks only to the database: no certificate needed. */
	if (!c->bootstrap_gm && (!c->tls_cert || !c->tls_key)) {
		say(why, why_len, "%s: required (--tls-cert FILE --tls-key FILE, or tls_cert/tls_key in the config file)",
		    c->tls_cert ? "tls_key" : "tls_cert");
		return KAM_EINVAL;
	}
	if (c->max_frame_prelogin > c->max_frame) {
		say(why, why_len, "max_frame_prelogin (%u) must not exceed max_frame (%u)",
		    c->max_frame_prelogin, c->max_frame);
		return KAM_EINVAL;
	}
	if (c->session_idle_s > c->session_absolute_s) {
		say(why, why_len, "session_idle_timeout (%d) must not exceed session_absolute_timeout (%d)",
		    c->session_idle_s, c->session_absolute_s);
		return KAM_EINVAL;
	}
	if (c->login_lockout_initial_s > c->login_lockout_max_s) {
		say(why, why_len, "login_lockout_initial (%d) must not exceed login_lockout_max (%d)",
		    c->login_lockout_initial_s, c->login_lockout_max_s);
		return KAM_EINVAL;
	}
	if (c->argon2_m_kib < CONFIG_ARGON2_KIB_PER_LANE * c->argon2_p) {
		say(why, why_len, "argon2_memory_kib (%u) must be at least %u per lane (argon2_parallelism %u)",
		    c->argon2_m_kib, CONFIG_ARGON2_KIB_PER_LANE, c->argon2_p);
		return KAM_EINVAL;
	}
	return 0;
}

void config_free(struct kamd_config *c)
{
	if (!c)
		return;
	free(c->listen_host);
	free(c->db);
	free(c->db_admin);
	free(c->db_listen);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->log_level);
	free(c->bootstrap_gm);
	free(c->audit_checkpoint_file);   /* audit and churn (issue 4) */
	free(c->audit_checkpoint_key);
	memset(c, 0, sizeof(*c));
}
