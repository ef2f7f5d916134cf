/*
 * kamd's configuration: defaults, then the file (key = value lines), then
 * command-line flags. Validated as a whole before anything starts.
 */
#ifndef KAMD_CONFIG_H
#define KAMD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct kamd_config {
	char *listen_host;            /* default 127.0.0.1 */
	int listen_port;              /* default 7433 */
	char *db;                     /* serving role conninfo (required) */
	char *db_admin;               /* schema owner conninfo, optional */
	char *tls_cert;               /* required */
	char *tls_key;                /* required */
	uint32_t max_frame;           /* post-login frame limit, default 1 MiB */
	uint32_t max_frame_prelogin;  /* default 4 KiB */
	int db_pool_size;             /* default 4 */
	int session_idle_s;           /* default 900 */
	int session_absolute_s;       /* default 43200 */
	uint32_t argon2_m_kib;        /* default 65536 */
	uint32_t argon2_t;            /* default 3 */
	uint32_t argon2_p;            /* default 1 */
	int max_connections;          /* default 1024 */
	int shutdown_grace_s;         /* SIGTERM drain limit, default 10 */
	char *log_level;              /* default "info" */
	int login_timeout_s;          /* connection must log in within this, default 10 */
	int idle_timeout_s;           /* authenticated connection without a frame, default 900 */
	int max_inflight_per_session; /* requests running per connection before reading pauses, default 32 */
	uint32_t max_queued_output;   /* unsent bytes per connection before reading pauses, default 1 MiB */
	char *bootstrap_gm;           /* --bootstrap-gm USER (flag only): then TLS is not required */
};

void config_defaults(struct kamd_config *c);
/* Read key = value lines; unknown keys and bad values are errors naming file:line. */
int config_load_file(struct kamd_config *c, const char *path, char *why, size_t why_len) KAM_MUST_CHECK;
/* Set one key from a flag or file; KAM_EINVAL with why on a bad key or value. */
int config_set(struct kamd_config *c, const char *key, const char *value, char *why, size_t why_len) KAM_MUST_CHECK;
/* Check required keys and ranges. */
int config_validate(const struct kamd_config *c, char *why, size_t why_len) KAM_MUST_CHECK;
void config_free(struct kamd_config *c);

#endif
