/*
 * Reading the audit trail and the bulk-read watch: kam audit log (visibility
 * decided in SQL, keyset paging, newest first), the chain heads and chain
 * rows for verify, and the watch's admit/alerts/clear through the SECURITY
 * DEFINER functions of deploy/sql/0003_audit.sql. Nothing here changes an
 * audit row; every act writes its own entry in the same statement.
 */
#include <stdio.h>
#include <string.h>

#include "db/pool.h"
#include "db/sql.h"

/* $9 the asker, $10 the asker's role. */
#define SQL_REPORTS                                                                          \
	"reports AS (SELECT id FROM users WHERE reports_to = $9::bigint AND $10::smallint = 3 " \
	"UNION SELECT u.id FROM users u JOIN reports r ON u.reports_to = r.id)"

/*
 * $11 before this id (0: newest), $12 account (0 any), $13 actor's name ('' any),
 * $14/$15 since/until unix seconds (0 open), $16 action ('' any; 'x.*' a prefix),
 * $17 rows. A manager sees the entries of accounts whose team holds them or anyone
 * reporting to them; the GM everything.
 */
static const char sql_log[] =
	"WITH RECURSIVE " SQL_REPORTS ", "
	"aud AS (" SQL_AUDIT_INSERT(SQL_AUDIT_ACCOUNT) ") "
	"SELECT l.id, extract(epoch FROM l.at)::bigint, l.username, l.role, l.action, coalesce(l.account_id, 0), "
	"coalesce(a.name, ''), l.result, l.client_addr, coalesce(l.detail::text, '') "
	"FROM audit_log l LEFT JOIN accounts a ON a.id = l.account_id "
	"WHERE ($11::bigint = 0 OR l.id < $11::bigint) "
	"AND ($12::bigint = 0 OR l.account_id = $12::bigint) "
	"AND ($13::text = '' OR l.username = $13::text) "
	"AND ($14::bigint = 0 OR l.at >= to_timestamp($14::bigint)) "
	"AND ($15::bigint = 0 OR l.at < to_timestamp($15::bigint)) "
	"AND ($16::text = '' OR l.action = $16::text "
	"OR (right($16::text, 1) = '*' AND starts_with(l.action, left($16::text, -1)))) "
	"AND ($10::smallint = 4 OR (l.account_id IS NOT NULL AND EXISTS (SELECT 1 FROM account_team t "
	"WHERE t.account_id = l.account_id AND (t.user_id = $9::bigint OR t.user_id IN (SELECT id FROM reports))))) "
	"ORDER BY l.id DESC LIMIT $17::bigint";
enum { LOG_ID, LOG_AT, LOG_USER, LOG_ROLE, LOG_ACTION, LOG_ACCOUNT_ID, LOG_ACCOUNT, LOG_RESULT, LOG_ADDR, LOG_DETAIL,
       LOG_NCOLS };

static const char sql_heads[] = "SELECT part, seq, encode(hash, 'hex') FROM kam_audit_heads()";

/* The columns audit_entry_text() covers, as chain.c rebuilds it. */
static const char sql_chain[] =
	"SELECT part, seq, id, (extract(epoch FROM at) * 1000000)::bigint, user_id, username, role, action, "
	"account_id, result, client_addr, detail::text, encode(hash, 'hex') "
	"FROM audit_log WHERE (part, seq) > ($1::smallint, $2::bigint) ORDER BY part, seq LIMIT $3::bigint";
enum { CH_PART, CH_SEQ, CH_ID, CH_AT, CH_USER, CH_NAME, CH_ROLE, CH_ACTION, CH_ACCOUNT, CH_RESULT, CH_ADDR,
       CH_DETAIL, CH_HASH, CH_NCOLS };

/* $1 partitions, $2 sequence numbers (array literals): the hash of each of those entries, NULL if gone. */
/* With the heads now, in the same statement, so both come from one snapshot: a chain
 * rewritten between two reads could otherwise pass the check and get its heads signed. */
static const char sql_hashes_at[] =
	"SELECT h.part, h.seq, encode(h.hash, 'hex'), coalesce(encode(l.hash, 'hex'), '') "
	"FROM kam_audit_heads() h JOIN unnest($1::smallint[], $2::bigint[]) AS p(part, seq) ON p.part = h.part "
	"LEFT JOIN audit_log l ON l.part = p.part AND l.seq = p.seq ORDER BY h.part";

static const char sql_admit[] =
	"SELECT verdict, reads, coalesce(extract(epoch FROM flagged_at)::bigint, 0) "
	"FROM kam_watch_admit($1::bigint, $2::text, $3::smallint, $4::text, $5::bigint, $6::integer, $7::integer)";

static const char sql_alerts[] =
	"WITH RECURSIVE " SQL_REPORTS ", "
	"aud AS (" SQL_AUDIT_INSERT(SQL_AUDIT_ACCOUNT) ") "
	"SELECT u.username, coalesce(m.username, ''), extract(epoch FROM f.flagged_at)::bigint, f.reads, "
	"f.flag_limit, f.flag_window "
	"FROM kam_watch_alerts() f JOIN users u ON u.id = f.user_id LEFT JOIN users m ON m.id = u.reports_to "
	"WHERE $10::smallint = 4 OR f.user_id IN (SELECT id FROM reports) "
	"ORDER BY f.flagged_at, u.username";

/* $9 the flagged user. Audited only when there was a flag to clear. */
static const char sql_clear[] =
	"WITH c AS (SELECT kam_watch_clear($9::bigint) AS reads), "
	"aud AS (" SQL_AUDIT_INSERT_DETAIL("$7::jsonb || jsonb_build_object('reads', c.reads)", SQL_AUDIT_ACCOUNT)
	" FROM c WHERE c.reads IS NOT NULL) "
	"SELECT reads FROM c WHERE reads IS NOT NULL";

enum { TRAIL_LOG, TRAIL_HEADS, TRAIL_CHAIN, TRAIL_HASHES_AT, WATCH_ADMIT, WATCH_ALERTS, WATCH_CLEAR };

static const struct pg_stmt_def stmts[] = {
	[TRAIL_LOG] = { "audit_trail_log", sql_log, SQL_AUDIT_NPARAMS + 9 },
	[TRAIL_HEADS] = { "audit_trail_heads", sql_heads, 0 },
	[TRAIL_CHAIN] = { "audit_trail_chain", sql_chain, 3 },
	[TRAIL_HASHES_AT] = { "audit_trail_hashes_at", sql_hashes_at, 2 },
	[WATCH_ADMIT] = { "audit_watch_admit", sql_admit, 7 },
	[WATCH_ALERTS] = { "audit_watch_alerts", sql_alerts, SQL_AUDIT_NPARAMS + 2 },
	[WATCH_CLEAR] = { "audit_watch_clear", sql_clear, SQL_AUDIT_NPARAMS + 1 },
};

const struct pg_stmt_set sql_audit_trail_set = { stmts, sizeof(stmts) / sizeof(stmts[0]) };

/* ---- audit log ---- */

static void log_done(struct pg_job *job, int err)
{
	const PGresult *r = pg_job_result(job, 0);
	struct kam_audit_entry *e = NULL;
	int64_t next = 0;
	int n = 0, role;

	if (!err) {
		n = pg_job_rows(job, 0, LOG_NCOLS);
		err = n < 0 ? n : 0;
	}
	/* One row more than asked for says there is another page, before the last one shown. */
	if (!err && n > job->aux) {
		n = (int)job->aux;
		next = pg_get_i64(r, n - 1, LOG_ID);
	}
	if (!err && n > 0 && !(e = kam_arena_alloc(&job->arena, (size_t)n * sizeof(*e))))
		err = KAM_ENOMEM;
	for (int i = 0; !err && i < n; i++) {
		/* Role 0 is a failed login of an unknown user. */
		if (!pg_get_enum(r, i, LOG_ROLE, KAM_ROLE_NONE, KAM_ROLE__COUNT, &role)) {
			err = KAM_EINTERNAL;
			break;
		}
		e[i] = (struct kam_audit_entry){
			.id = pg_get_i64(r, i, LOG_ID),
			.at = pg_get_i64(r, i, LOG_AT),
			.username = pg_get_str(r, i, LOG_USER),
			.role = (enum kam_role)role,
			.action = pg_get_str(r, i, LOG_ACTION),
			.account_id = pg_get_i64(r, i, LOG_ACCOUNT_ID),
			.account = pg_get_str(r, i, LOG_ACCOUNT),
			.result = pg_get_str(r, i, LOG_RESULT),
			.client_addr = pg_get_str(r, i, LOG_ADDR),
			.detail = pg_get_str(r, i, LOG_DETAIL),
		};
	}
	job->cb.entries(job->arg, err, err ? NULL : e, err ? 0 : (size_t)n, err ? 0 : next);
}

int store_audit_log(struct store *st, const struct kam_principal *who, const struct store_audit_query *q,
		    const struct audit_entry *audit, store_entries_cb cb, void *arg)
{
	struct pg_job *job;
	uint32_t limit;
	int err;

	if (!who || !q || !audit || !cb)
		return KAM_EINVAL;
	limit = q->limit == 0 ? KAM_LIST_DEFAULT : q->limit > KAM_LIST_MAX ? KAM_LIST_MAX : q->limit;
	err = pg_job_new(st, log_done, arg, &job);
	if (err)
		return err;
	job->cb.entries = cb;
	job->aux = limit;
	pg_job_stmt(job, &stmts[TRAIL_LOG]);
	sql_audit_bind(job, audit);
	pg_job_i64(job, who->user_id);
	pg_job_i64(job, who->role);
	pg_job_i64(job, q->before_id);
	pg_job_i64(job, q->account_id);
	pg_job_text(job, q->username ? q->username : "");
	pg_job_i64(job, q->since);
	pg_job_i64(job, q->until);
	pg_job_text(job, q->action ? q->action : "");
	pg_job_i64(job, (int64_t)limit + 1);
	return pool_submit(job);
}

/* ---- the chain ---- */

static int hash_col(const PGresult *r, int row, int col, uint8_t out[KAM_SHA256_LEN])
{
	return kam_hex_decode(pg_get_str(r, row, col), out, KAM_SHA256_LEN) == 0 ? 0 : KAM_EINTERNAL;
}

/* The heads from the first three columns of statement 0's rows: one per partition, in order. */
static int heads_rows(struct pg_job *job, int ncols, struct audit_head heads[AUDIT_PARTS])
{
	const PGresult *r = pg_job_result(job, 0);
	int n = pg_job_rows(job, 0, ncols), err = n < 0 ? n : n != AUDIT_PARTS ? KAM_EINTERNAL : 0;

	for (int i = 0; !err && i < n; i++) {
		if (pg_get_i64(r, i, 0) != i)
			err = KAM_EINTERNAL;
		heads[i].seq = pg_get_i64(r, i, 1);
		if (!err)
			err = hash_col(r, i, 2, heads[i].hash);
	}
	return err;
}

static void heads_done(struct pg_job *job, int err)
{
	struct audit_head heads[AUDIT_PARTS];

	if (!err)
		err = heads_rows(job, 3, heads);
	job->cb.heads(job->arg, err, err ? NULL : heads);
}

int store_audit_heads(struct store *st, store_heads_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	if (!cb)
		return KAM_EINVAL;
	err = pg_job_new(st, heads_done, arg, &job);
	if (err)
		return err;
	job->cb.heads = cb;
	pg_job_stmt(job, &stmts[TRAIL_HEADS]);
	return pool_submit(job);
}

static void hashes_at_done(struct pg_job *job, int err)
{
	const PGresult *r = pg_job_result(job, 0);
	struct audit_head *at = (struct audit_head *)(uintptr_t)job->aux, heads[AUDIT_PARTS];

	if (!err)
		err = heads_rows(job, 4, heads);
	/* A missing entry reads as seq -1; one with a hash that is not 32 bytes as a zero hash. */
	for (int i = 0; !err && i < AUDIT_PARTS; i++) {
		if (!*pg_get_str(r, i, 3)) {
			at[i].seq = at[i].seq == 0 ? 0 : -1;
			continue;
		}
		if (hash_col(r, i, 3, at[i].hash) != 0)
			memset(at[i].hash, 0, sizeof(at[i].hash));
	}
	job->cb.heads_at(job->arg, err, err ? NULL : heads, err ? NULL : at);
}

int store_audit_heads_at(struct store *st, const struct audit_head at[AUDIT_PARTS], store_heads_at_cb cb, void *arg)
{
	struct audit_head *copy;
	struct pg_job *job;
	char parts[AUDIT_PARTS * 4 + 2] = "{", seqs[AUDIT_PARTS * 24 + 2] = "{";
	int err;

	if (!at || !cb)
		return KAM_EINVAL;
	for (int p = 0; p < AUDIT_PARTS; p++) {
		snprintf(parts + strlen(parts), sizeof(parts) - strlen(parts), "%s%d", p ? "," : "", p);
		snprintf(seqs + strlen(seqs), sizeof(seqs) - strlen(seqs), "%s%lld", p ? "," : "", (long long)at[p].seq);
	}
	strcat(parts, "}");
	strcat(seqs, "}");
	err = pg_job_new(st, hashes_at_done, arg, &job);
	if (err)
		return err;
	copy = kam_arena_alloc(&job->arena, sizeof(struct audit_head) * AUDIT_PARTS);
	if (!copy) {
		pg_job_free(job);
		return KAM_ENOMEM;
	}
	memcpy(copy, at, sizeof(struct audit_head) * AUDIT_PARTS);
	/* The genesis hash of an empty partition is what "nothing yet" looks like. */
	for (int p = 0; p < AUDIT_PARTS; p++)
		if (copy[p].seq == 0)
			audit_chain_genesis((uint32_t)p, copy[p].hash);
	job->cb.heads_at = cb;
	job->aux = (int64_t)(uintptr_t)copy;
	pg_job_stmt(job, &stmts[TRAIL_HASHES_AT]);
	pg_job_text(job, parts);
	pg_job_text(job, seqs);
	return pool_submit(job);
}

static int chain_row(const PGresult *r, int i, struct audit_chain_row *row)
{
	int64_t part = pg_get_i64(r, i, CH_PART);

	*row = (struct audit_chain_row){
		.part = part < 0 || part > UINT32_MAX ? UINT32_MAX : (uint32_t)part,
		.seq = pg_get_i64(r, i, CH_SEQ),
		.id = pg_get_i64(r, i, CH_ID),
		.at_us = pg_get_i64(r, i, CH_AT),
		.has_user = !PQgetisnull(r, i, CH_USER),
		.user_id = pg_get_i64(r, i, CH_USER),
		.username = pg_get_str(r, i, CH_NAME),
		.role = (int)pg_get_i64(r, i, CH_ROLE),
		.action = pg_get_str(r, i, CH_ACTION),
		.has_account = !PQgetisnull(r, i, CH_ACCOUNT),
		.account_id = pg_get_i64(r, i, CH_ACCOUNT),
		.result = pg_get_str(r, i, CH_RESULT),
		.client_addr = pg_get_str(r, i, CH_ADDR),
		.has_detail = !PQgetisnull(r, i, CH_DETAIL),
		.detail = pg_get_str(r, i, CH_DETAIL),
	};
	/* A hash that is not 32 bytes cannot match: the verifier says so for this entry. */
	if (hash_col(r, i, CH_HASH, row->hash) != 0)
		memset(row->hash, 0, sizeof(row->hash));
	return 0;
}

static void chain_done(struct pg_job *job, int err)
{
	const PGresult *r = pg_job_result(job, 0);
	struct audit_chain_row *rows = NULL;
	int n = 0;

	if (!err) {
		n = pg_job_rows(job, 0, CH_NCOLS);
		err = n < 0 ? n : 0;
	}
	if (!err && n > 0 && !(rows = kam_arena_alloc(&job->arena, (size_t)n * sizeof(*rows))))
		err = KAM_ENOMEM;
	for (int i = 0; !err && i < n; i++)
		err = chain_row(r, i, &rows[i]);
	job->cb.chain(job->arg, err, err ? NULL : rows, err ? 0 : (size_t)n);
}

int store_audit_chain(struct store *st, uint32_t after_part, int64_t after_seq, uint32_t limit,
		      store_chain_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	if (!cb || limit == 0)
		return KAM_EINVAL;
	err = pg_job_new(st, chain_done, arg, &job);
	if (err)
		return err;
	job->cb.chain = cb;
	pg_job_long(job);   /* issue 7: a verify page over a big trail must not hit the request timeout */
	pg_job_stmt(job, &stmts[TRAIL_CHAIN]);
	pg_job_i64(job, after_part);
	pg_job_i64(job, after_seq);
	pg_job_i64(job, limit);
	return pool_submit(job);
}

/* ---- the bulk-read watch ---- */

static void admit_done(struct pg_job *job, int err)
{
	const PGresult *r = pg_job_result(job, 0);
	struct store_watch w = { STORE_WATCH_OK, 0, 0 };
	const char *verdict;

	if (!err)
		err = pg_job_expect_row(job, 0, 3, KAM_EINTERNAL);
	if (!err) {
		verdict = pg_get_str(r, 0, 0);
		if (strcmp(verdict, "flagged_now") == 0)
			w.verdict = STORE_WATCH_FLAGGED_NOW;
		else if (strcmp(verdict, "flagged") == 0)
			w.verdict = STORE_WATCH_FLAGGED;
		else if (strcmp(verdict, "ok") != 0)
			err = KAM_EINTERNAL;
		w.reads = (uint32_t)pg_get_i64(r, 0, 1);
		w.flagged_at = pg_get_i64(r, 0, 2);
	}
	job->cb.watch(job->arg, err, err ? NULL : &w);
}

int store_watch_admit(struct store *st, const struct kam_principal *who, const char *client_addr,
		      int64_t account_id, const struct store_watch_limit *lim, store_watch_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	if (!who || !lim || !cb || lim->limit == 0)
		return KAM_EINVAL;
	err = pg_job_new(st, admit_done, arg, &job);
	if (err)
		return err;
	job->cb.watch = cb;
	pg_job_stmt(job, &stmts[WATCH_ADMIT]);
	pg_job_i64(job, who->user_id);
	pg_job_text(job, who->username);
	pg_job_i64(job, who->role);
	pg_job_text(job, client_addr ? client_addr : "");
	pg_job_i64(job, account_id);
	pg_job_i64(job, lim->limit);
	pg_job_i64(job, lim->window_s);
	return pool_submit(job);
}

static void alerts_done(struct pg_job *job, int err)
{
	const PGresult *r = pg_job_result(job, 0);
	struct kam_alert *al = NULL;
	int n = 0;

	if (!err) {
		n = pg_job_rows(job, 0, 6);
		err = n < 0 ? n : 0;
	}
	if (!err && n > 0 && !(al = kam_arena_alloc(&job->arena, (size_t)n * sizeof(*al))))
		err = KAM_ENOMEM;
	for (int i = 0; !err && i < n; i++)
		al[i] = (struct kam_alert){
			.username = pg_get_str(r, i, 0),
			.reports_to = pg_get_str(r, i, 1),
			.flagged_at = pg_get_i64(r, i, 2),
			.reads = (uint32_t)pg_get_i64(r, i, 3),
			.limit = (uint32_t)pg_get_i64(r, i, 4),
			.window_s = (uint32_t)pg_get_i64(r, i, 5),
		};
	job->cb.alerts(job->arg, err, err ? NULL : al, err ? 0 : (size_t)n);
}

int store_watch_alerts(struct store *st, const struct kam_principal *who, const struct audit_entry *audit,
		       store_alerts_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	if (!who || !audit || !cb)
		return KAM_EINVAL;
	err = pg_job_new(st, alerts_done, arg, &job);
	if (err)
		return err;
	job->cb.alerts = cb;
	pg_job_stmt(job, &stmts[WATCH_ALERTS]);
	sql_audit_bind(job, audit);
	pg_job_i64(job, who->user_id);
	pg_job_i64(job, who->role);
	return pool_submit(job);
}

static void clear_done(struct pg_job *job, int err)
{
	if (!err)
		err = pg_job_expect_row(job, 0, 1, KAM_ENOTFOUND);
	job->cb.count(job->arg, err, err ? 0 : pg_get_i64(pg_job_result(job, 0), 0, 0));
}

int store_watch_clear(struct store *st, int64_t user_id, const struct audit_entry *audit,
		      store_count_cb cb, void *arg)
{
	struct pg_job *job;
	int err;

	if (!audit || !cb)
		return KAM_EINVAL;
	err = pg_job_new(st, clear_done, arg, &job);
	if (err)
		return err;
	job->cb.count = cb;
	pg_job_stmt(job, &stmts[WATCH_CLEAR]);
	sql_audit_bind(job, audit);
	pg_job_i64(job, user_id);
	return pool_submit(job);
}
