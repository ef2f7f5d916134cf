/*
 * One error convention for all of KAM: fallible functions return 0 on success
 * or a negative KAM_E* code (libuv style). Codes live in a reserved range so
 * they never collide with -errno values passed through from the OS or libuv.
 */
#ifndef KAM_ERR_H
#define KAM_ERR_H

#define KAM_MUST_CHECK __attribute__((warn_unused_result))

enum kam_err {
	KAM_OK = 0,
	KAM_ERR_BASE = -30000,
	KAM_ENOMEM = KAM_ERR_BASE,  /* allocation failed */
	KAM_EINVAL,                 /* invalid argument or value */
	KAM_EPROTO,                 /* malformed frame or message */
	KAM_E2BIG,                  /* frame or field over its limit */
	KAM_EAGAIN,                 /* need more input / try again */
	KAM_ETLS,                   /* TLS failure */
	KAM_ECLOSED,                /* peer closed the connection */
	KAM_ENOTFOUND,              /* no such row (or not visible) */
	KAM_EFORBIDDEN,             /* not allowed */
	KAM_EUNAUTH,                /* not authenticated */
	KAM_ECONFLICT,              /* duplicate or constraint violation */
	KAM_ESTALE,                 /* optimistic concurrency check failed */
	KAM_EUNAVAIL,               /* database or daemon unavailable */
	KAM_EINTERNAL,              /* unexpected failure: a bug */
	KAM_ECANCELED,              /* operation abandoned (connection gone, shutdown) */
	KAM_EREPLAYED,              /* issue 7: a write's request key was used before: already applied */
	/* -- performance (issue 5): a fast-path guard refused; take the full path -- */
	KAM_ERECHECK,               /* the session must be checked again (server only) */
	KAM_EWATCH,                 /* the bulk-read watch did not admit a read (server only) */
	KAM_ERR_LAST
};

/* Human-readable text for a KAM_E* code, or strerror() for a -errno. */
const char *kam_strerror(int err);

#endif
