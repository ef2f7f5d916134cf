/*
 * kam-bench's shared vocabulary: the operations it drives, and the pure
 * parsers of its option values (tested in test_bench.c). Nothing here does
 * I/O or knows libuv.
 */
#ifndef KAM_BENCH_H
#define KAM_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include <stdbool.h>
#include <stdio.h>

#include "err.h"
#include "hist.h"

/* The operations of the mix, in the order of --mix and of the report. */
enum bench_op { OP_READ, OP_UPDATE, OP_LIST, OP_REVIEW, OP__COUNT };

extern const char *const bench_op_names[OP__COUNT];

/* An explicit list may name this many accounts at most (a range counts each id). */
#define BENCH_MAX_IDS 10000000u

/*
 * "read=70,update=20,list=10,review=0": a weight per operation; those not
 * named weigh 0, and at least one must weigh more. 0 or KAM_EINVAL with *why.
 */
int bench_parse_mix(const char *s, unsigned w[OP__COUNT], const char **why) KAM_MUST_CHECK;
/* "1-100,250,300-310": positive ids into a malloc'd array (caller frees). 0 or KAM_EINVAL/KAM_ENOMEM. */
int bench_parse_ids(const char *s, int64_t **out, size_t *n_out, const char **why) KAM_MUST_CHECK;
/* "HOST:PORT" or "[V6]:PORT" into host and port. 0 or KAM_EINVAL. */
int bench_parse_hostport(const char *s, char *host, size_t host_cap, char *port, size_t port_cap) KAM_MUST_CHECK;
/* "a,b,c" into a malloc'd array of strings pointing into a malloc'd copy (*store). 0 or an error. */
int bench_split_list(const char *s, char **store, const char ***out, size_t *n_out) KAM_MUST_CHECK;

/* Wire statuses are small numbers (model.h); errors are counted per status. */
#define BENCH_STATUS_SLOTS 16

struct op_stats {
	struct hist h;                           /* latency of answered requests, ns */
	uint64_t errors;                         /* answered with an error */
	uint64_t by_status[BENCH_STATUS_SLOTS];  /* errors per wire status */
};

/* What one run measured, for the table and the JSON. RSS values are -1 when unknown. */
struct bench_result {
	const char *server;
	unsigned connections;
	unsigned users;
	unsigned mix[OP__COUNT];
	double setup_s;                          /* connect, handshake, login, discovery */
	double warmup_s;
	double elapsed_s;                        /* the measured window */
	struct op_stats ops[OP__COUNT];
	unsigned conn_failures;                  /* connections lost during the run */
	long rss_start_kib, rss_end_kib;         /* the server's, at the window's edges */
	double client_cpu_pct, server_cpu_pct;   /* CPU used in the window, % of one core; -1 unknown */
	bool hold;                               /* --hold: idle connections, no load */
	unsigned held;
	long rss_before_kib, rss_after_kib;      /* the server's, before connecting and while holding */
};

/* The table (the default output). */
void bench_report_table(FILE *f, const struct bench_result *r);
/* One JSON document; 0 or KAM_ENOMEM. */
int bench_report_json(FILE *f, const struct bench_result *r) KAM_MUST_CHECK;
/* VmRSS of a process in KiB, from /proc; -1 if it cannot be read. */
long bench_rss_kib(long pid);
/* CPU seconds a process has used (user + system), from /proc; -1 if unknown. pid 0: this process. */
double bench_cpu_s(long pid);

#endif
