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
	char *db_listen;              /* issue 7: the revocation listener's conninfo; NULL: db */
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
	/* -- hostile clients (issue 6) -- */
	int max_connections_per_address; /* per client address (IPv6: per /64), default 64 */
	int hash_threads;             /* password hashes at once = UV_THREADPOOL_SIZE, default 4 */
	int hash_queue;               /* hashing jobs waiting beyond those, default 256 */
	int login_lockout_threshold;  /* consecutive failures before an account waits, default 5 */
	int login_lockout_initial_s;  /* the first wait, doubling per further failure, default 1 */
	int login_lockout_max_s;      /* the longest wait, default 900 */
	int login_failures_per_hour;  /* failures evaluated per account and hour, default 100 */
	int login_failures_per_minute; /* failures per client address and minute, default 30 */
	/* -- audit and churn (issue 4) -- */
	char *audit_checkpoint_file;  /* signed checkpoints of the audit chain heads; NULL: none */
	char *audit_checkpoint_key;   /* Ed25519 PEM key; NULL: audit_checkpoint_file + ".key" */
	int audit_checkpoint_interval_s; /* seconds between checkpoints, default 300 */
	int bulk_read_limit;          /* distinct accounts a rep may read in the window; 0 off; default 30 */
	int bulk_read_limit_manager;  /* the same for managers; default 0 (off) */
	int bulk_read_window_s;       /* the sliding window, default 600 */
	/* -- faults and scale-out (issue 7) -- */
	int request_timeout_s;        /* a database job's wait for a connection, and for its answer; default 5 */
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
