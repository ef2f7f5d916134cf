/*
 * kam-bench's output: the per-operation table, the same as one JSON document
 * (--json), and the server's resident memory read from /proc. Reads a
 * finished result only; must not measure or talk to the server.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <jansson.h>

#include "bench.h"
#include "model.h"

#define NS_PER_MS 1e6
#define P50 0.50
#define P95 0.95
#define P99 0.99

static double ms(uint64_t ns)
{
	return (double)ns / NS_PER_MS;
}

static double rate(uint64_t n, double s)
{
	return s > 0 ? (double)n / s : 0;
}

/* Every operation together: latencies merged, errors summed. */
static void total_of(const struct bench_result *r, struct op_stats *t)
{
	memset(t, 0, sizeof(*t));
	for (int op = 0; op < OP__COUNT; op++) {
		hist_merge(&t->h, &r->ops[op].h);
		t->errors += r->ops[op].errors;
		for (int s = 0; s < BENCH_STATUS_SLOTS; s++)
			t->by_status[s] += r->ops[op].by_status[s];
	}
}

static void table_row(FILE *f, const char *name, const struct op_stats *s, double elapsed)
{
	fprintf(f, "%-8s %10llu %8llu %10.1f %9.3f %9.3f %9.3f %9.3f\n", name, (unsigned long long)s->h.count,
		(unsigned long long)s->errors, rate(s->h.count, elapsed), ms(hist_quantile(&s->h, P50)),
		ms(hist_quantile(&s->h, P95)), ms(hist_quantile(&s->h, P99)), ms(s->h.max));
}

static void table_hold(FILE *f, const struct bench_result *r)
{
	fprintf(f, "kam-bench: %s, holding %u idle authenticated TLS connections\n", r->server, r->held);
	if (r->rss_before_kib < 0 || r->rss_after_kib < 0) {
		fprintf(f, "server RSS: unknown (give --server-pid)\n");
		return;
	}
	fprintf(f, "server RSS: %ld KiB before, %ld KiB holding: %.1f KiB per connection\n", r->rss_before_kib,
		r->rss_after_kib, r->held ? (double)(r->rss_after_kib - r->rss_before_kib) / r->held : 0.0);
}

void bench_report_table(FILE *f, const struct bench_result *r)
{
	struct op_stats *t;
	bool any_error = false;

	if (r->hold) {
		table_hold(f, r);
		return;
	}
	fprintf(f, "kam-bench: %s, %u connections as %u users, mix", r->server, r->connections, r->users);
	for (int op = 0; op < OP__COUNT; op++)
		fprintf(f, "%s%s=%u", op ? "," : " ", bench_op_names[op], r->mix[op]);
	fprintf(f, "\nmeasured %.2f s after %.1f s warm-up (set-up took %.2f s)\n", r->elapsed_s, r->warmup_s,
		r->setup_s);
	fprintf(f, "%-8s %10s %8s %10s %9s %9s %9s %9s\n", "op", "ok", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms",
		"max ms");
	for (int op = 0; op < OP__COUNT; op++)
		if (r->mix[op])
			table_row(f, bench_op_names[op], &r->ops[op], r->elapsed_s);
	if (!(t = malloc(sizeof(*t))))
		return;
	total_of(r, t);
	table_row(f, "all", t, r->elapsed_s);
	for (int s = 0; s < BENCH_STATUS_SLOTS; s++) {
		if (!t->by_status[s])
			continue;
		fprintf(f, "%s %s %llu", any_error ? "," : "errors:", kam_status_str((enum kam_status)s),
			(unsigned long long)t->by_status[s]);
		any_error = true;
	}
	if (any_error)
		fputc('\n', f);
	if (r->conn_failures)
		fprintf(f, "connections lost during the run: %u\n", r->conn_failures);
	if (r->rss_start_kib >= 0 && r->rss_end_kib >= 0)
		fprintf(f, "server RSS: %ld KiB at the start of the window, %ld KiB at its end\n", r->rss_start_kib,
			r->rss_end_kib);
	if (r->server_cpu_pct >= 0)
		fprintf(f, "CPU in the window: server %.0f %%, kam-bench %.0f %% of one core\n", r->server_cpu_pct,
			r->client_cpu_pct);
	else
		fprintf(f, "CPU in the window: kam-bench %.0f %% of one core\n", r->client_cpu_pct);
	free(t);
}

static json_t *op_json(const struct op_stats *s, double elapsed)
{
	json_t *o = json_pack("{s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:f}", "ok", (json_int_t)s->h.count,
			      "errors", (json_int_t)s->errors, "rps", rate(s->h.count, elapsed),
			      "mean_ms", s->h.count ? ms(s->h.sum) / (double)s->h.count : 0.0,
			      "p50_ms", ms(hist_quantile(&s->h, P50)), "p95_ms", ms(hist_quantile(&s->h, P95)),
			      "p99_ms", ms(hist_quantile(&s->h, P99)), "max_ms", ms(s->h.max));
	json_t *codes = json_object();

	if (!o || !codes || json_object_set_new(o, "by_status", codes) < 0) {
		json_decref(o);
		return NULL;
	}
	for (int st = 0; st < BENCH_STATUS_SLOTS; st++)
		if (s->by_status[st] &&
		    json_object_set_new(codes, kam_status_str((enum kam_status)st), json_integer((json_int_t)s->by_status[st])) < 0) {
			json_decref(o);
			return NULL;
		}
	return o;
}

/* An RSS value, or null when unknown. */
static json_t *kib(long v)
{
	return v < 0 ? json_null() : json_integer(v);
}

static json_t *pct(double v)
{
	return v < 0 ? json_null() : json_real(v);
}

static json_t *load_json(const struct bench_result *r)
{
	json_t *doc, *ops, *mix;
	struct op_stats *t = malloc(sizeof(*t));

	if (!t)
		return NULL;
	total_of(r, t);
	doc = json_pack("{s:s, s:I, s:I, s:f, s:f, s:f, s:I, s:o, s:o, s:{s:o, s:o}, s:{s:o, s:o}}", "server",
			r->server, "connections", (json_int_t)r->connections, "users", (json_int_t)r->users, "setup_s",
			r->setup_s, "warmup_s", r->warmup_s, "elapsed_s", r->elapsed_s, "connection_failures",
			(json_int_t)r->conn_failures, "ops", json_object(), "total", op_json(t, r->elapsed_s),
			"server_rss_kib", "start", kib(r->rss_start_kib), "end", kib(r->rss_end_kib),
			"cpu_pct", "server", pct(r->server_cpu_pct), "client", pct(r->client_cpu_pct));
	free(t);
	if (!doc || !(mix = json_object()) || json_object_set_new(doc, "mix", mix) < 0) {
		json_decref(doc);
		return NULL;
	}
	ops = json_object_get(doc, "ops");
	for (int op = 0; op < OP__COUNT; op++) {
		if (json_object_set_new(mix, bench_op_names[op], json_integer(r->mix[op])) < 0 ||
		    (r->mix[op] && json_object_set_new(ops, bench_op_names[op], op_json(&r->ops[op], r->elapsed_s)) < 0)) {
			json_decref(doc);
			return NULL;
		}
	}
	return doc;
}

static json_t *hold_json(const struct bench_result *r)
{
	bool known = r->rss_before_kib >= 0 && r->rss_after_kib >= 0 && r->held > 0;

	return json_pack("{s:s, s:{s:I, s:f, s:o, s:o, s:o}}", "server", r->server, "hold", "connections",
			 (json_int_t)r->held, "setup_s", r->setup_s, "rss_before_kib", kib(r->rss_before_kib),
			 "rss_after_kib", kib(r->rss_after_kib), "per_connection_bytes",
			 known ? json_real((double)(r->rss_after_kib - r->rss_before_kib) * 1024.0 / r->held) : json_null());
}

int bench_report_json(FILE *f, const struct bench_result *r)
{
	json_t *doc = r->hold ? hold_json(r) : load_json(r);
	int rc;

	if (!doc)
		return KAM_ENOMEM;
	rc = json_dumpf(doc, f, JSON_INDENT(2) | JSON_REAL_PRECISION(6)) < 0 ? KAM_ENOMEM : 0;
	fputc('\n', f);
	json_decref(doc);
	return rc;
}

long bench_rss_kib(long pid)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmRSS:", 6) == 0) {
			v = strtol(line + 6, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

double bench_cpu_s(long pid)
{
	char path[64], line[1024], *p;
	unsigned long long utime, stime;
	long hz = sysconf(_SC_CLK_TCK);
	struct rusage ru;
	FILE *f;

	if (pid == 0) {
		if (getrusage(RUSAGE_SELF, &ru) < 0)
			return -1;
		return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
		       (double)ru.ru_stime.tv_usec / 1e6;
	}
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if (hz <= 0 || !(f = fopen(path, "r")))
		return -1;
	p = fgets(line, sizeof(line), f);
	fclose(f);
	/* The command name may hold spaces and parentheses: fields count from the last ')'. */
	if (!p || !(p = strrchr(line, ')')) ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
		return -1;
	return (double)(utime + stime) / (double)hz;
}
