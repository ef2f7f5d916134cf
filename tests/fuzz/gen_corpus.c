/*
 * Writes the seed corpus: one valid frame per request and response type into
 * DIR/request/ and DIR/response/ (usage: fuzz_gen_corpus DIR). The output is
 * committed under tests/fuzz/corpus/; rerun this when the protocol grows.
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "msg.h"

static const uint8_t token[KAM_TOKEN_LEN] = "fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz";
static const char *team[] = { "alice", "bob" };
static struct kam_field fields[] = { { "notes", "met the CFO" }, { "revenue", "1200000" }, { "strategy", "attack" } };
/* -- layers (issue 3) -- */
static struct kam_field layer_fields[] = { { "kind", "competitor" }, { "description", "Rival AG since 1990" },
					   { "stage", "procurement" } };

static int write_file(const char *dir, const char *kind, const char *name, const struct kam_buf *b)
{
	char path[512];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, kind, name);
	if (!(f = fopen(path, "wb"))) {
		perror(path);
		return -1;
	}
	ok = fwrite(kam_buf_head(b), 1, kam_buf_avail(b), f) == kam_buf_avail(b);
	return fclose(f) == 0 && ok ? 0 : -1;
}

static int put_request(const char *dir, const char *name, struct kam_request *r)
{
	struct kam_buf b;
	int rc;

	kam_buf_init(&b);
	r->has_token = r->op != KAM_OP_LOGIN;
	memcpy(r->token, token, KAM_TOKEN_LEN);
	rc = msg_request_encode_frame(r, &b) == 0 ? write_file(dir, "request", name, &b) : -1;
	kam_buf_free(&b);
	return rc;
}

static int put_response(const char *dir, const char *name, const struct kam_response *r)
{
	struct kam_buf b;
	int rc;

	kam_buf_init(&b);
	rc = msg_response_encode_frame(r, &b) == 0 ? write_file(dir, "response", name, &b) : -1;
	kam_buf_free(&b);
	return rc;
}

static int requests(const char *dir)
{
	struct kam_request r;
	int rc = 0;

	r = (struct kam_request){ .id = 1, .op = KAM_OP_LOGIN };
	r.u.login.username = "alice";
	r.u.login.password = "correct horse battery";
	rc |= put_request(dir, "login", &r);
	r = (struct kam_request){ .id = 2, .op = KAM_OP_LOGOUT };
	rc |= put_request(dir, "logout", &r);
	r = (struct kam_request){ .id = 3, .op = KAM_OP_WHOAMI };
	rc |= put_request(dir, "whoami", &r);
	r = (struct kam_request){ .id = 4, .op = KAM_OP_USER_ADD };
	r.u.user_add.username = "bob";
	r.u.user_add.role = KAM_ROLE_SOLUTION;
	r.u.user_add.reports_to = "carol";
	r.u.user_add.password = "twelve chars!";
	rc |= put_request(dir, "user_add", &r);
	r = (struct kam_request){ .id = 5, .op = KAM_OP_USER_LIST };
	rc |= put_request(dir, "user_list", &r);
	r = (struct kam_request){ .id = 6, .op = KAM_OP_ACCOUNT_ADD };
	r.u.account_add.name = "Acme GmbH";
	r.u.account_add.tier = KAM_TIER_TOP;
	r.u.account_add.owner = "bob";
	rc |= put_request(dir, "account_add", &r);
	r = (struct kam_request){ .id = 7, .op = KAM_OP_ACCOUNT_LIST };
	r.u.account_list.tier = KAM_TIER_STRATEGIC;
	r.u.account_list.stage = KAM_STAGE_BREAKTHROUGH;
	r.u.account_list.owner = "bob";
	r.u.account_list.after_id = 40;
	r.u.account_list.limit = 50;
	rc |= put_request(dir, "account_list", &r);
	r = (struct kam_request){ .id = 8, .op = KAM_OP_ACCOUNT_SHOW };
	r.u.account_show.account = "Acme GmbH";
	rc |= put_request(dir, "account_show", &r);
	r = (struct kam_request){ .id = 9, .op = KAM_OP_ACCOUNT_SET };
	r.u.account_set.account = "42";
	r.u.account_set.fields = fields;
	r.u.account_set.n_fields = sizeof(fields) / sizeof(fields[0]);
	r.u.account_set.if_version = 3;
	rc |= put_request(dir, "account_set", &r);
	r = (struct kam_request){ .id = 10, .op = KAM_OP_ACCOUNT_ASSIGN };
	r.u.account_member.account = "42";
	r.u.account_member.username = "dave";
	rc |= put_request(dir, "account_assign", &r);
	r.op = KAM_OP_ACCOUNT_UNASSIGN;
	r.id = 11;
	rc |= put_request(dir, "account_unassign", &r);
	/* -- layers (issue 3): the three request shapes and the team review -- */
	r = (struct kam_request){ .id = 40, .op = KAM_OP_BARRIER_ADD };
	r.u.layer_add.account = "Acme GmbH";
	r.u.layer_add.fields = layer_fields;
	r.u.layer_add.n_fields = sizeof(layer_fields) / sizeof(layer_fields[0]);
	rc |= put_request(dir, "barrier_add", &r);
	r = (struct kam_request){ .id = 41, .op = KAM_OP_PROJECT_ADVANCE };
	r.u.layer_item.id = 7;
	r.u.layer_item.fields = layer_fields + 2;
	r.u.layer_item.n_fields = 1;
	rc |= put_request(dir, "project_advance", &r);
	r = (struct kam_request){ .id = 42, .op = KAM_OP_REVIEW_ACCOUNT };
	r.u.layer_list.account = "42";
	rc |= put_request(dir, "review_account", &r);
	r = (struct kam_request){ .id = 43, .op = KAM_OP_REVIEW_TEAM };
	r.u.review_team.user = "bob";
	r.u.review_team.after_id = 10;
	r.u.review_team.limit = 500;
	rc |= put_request(dir, "review_team", &r);
	/* -- audit and churn (issue 4) -- */
	r = (struct kam_request){ .id = 80, .op = KAM_OP_AUDIT_LOG,
				  .u.audit_log = { "Acme GmbH", "bob", 1700000000, 1800000000, "account.*", 99, 50 } };
	rc |= put_request(dir, "audit_log", &r);
	r = (struct kam_request){ .id = 84, .op = KAM_OP_USER_HANDOVER,
				  .u.handover = { "bob", "alice", 2, team } };
	rc |= put_request(dir, "user_handover", &r);
	{
		static struct kam_import_row import_rows[] = { { 2, "Acme GmbH", KAM_TIER_TOP, "alice", 3, fields } };

		r = (struct kam_request){ .id = 87, .op = KAM_OP_IMPORT, .u.import = { 1, import_rows } };
		rc |= put_request(dir, "import", &r);
	}
	/* -- hostile clients (issue 6) -- */
	r = (struct kam_request){ .id = 100, .op = KAM_OP_USER_PASSWD };
	r.u.user_passwd.username = "";
	r.u.user_passwd.old_password = "correct horse battery";
	r.u.user_passwd.new_password = "a brand new secret";
	rc |= put_request(dir, "user_passwd", &r);
	r = (struct kam_request){ .id = 101, .op = KAM_OP_USER_UNLOCK };
	r.u.user_unlock.username = "bob";
	rc |= put_request(dir, "user_unlock", &r);
	/* -- faults (issue 7): a write with its idempotency key -- */
	r = (struct kam_request){ .id = 6, .op = KAM_OP_ACCOUNT_ADD, .key_len = KAM_REQUEST_KEY_MIN };
	memcpy(r.key, "idem-key-0123456", KAM_REQUEST_KEY_MIN);
	r.u.account_add.name = "Acme GmbH";
	r.u.account_add.tier = KAM_TIER_TOP;
	rc |= put_request(dir, "account_add_keyed", &r);
	return rc;
}

/* -- layers (issue 3) -- */
static int layer_responses(const char *dir, const struct kam_account *acc)
{
	static struct kam_stage_move moves[] = { { KAM_MOVE_START, KAM_PSTAGE_NONE, KAM_PSTAGE_NEED, "bob", 1700000000 },
						 { KAM_MOVE_BACK, KAM_PSTAGE_BUDGET, KAM_PSTAGE_SOLUTION, "bob", 1700000100 } };
	static int64_t links[] = { 7 };
	static struct kam_barrier barrier = { 1, 42, KAM_BARRIER_PREQUALIFICATION, "not listed", KAM_BSTATUS_WORKING,
					      "get listed", "2027-01-31", "alice", 1700000000, 1700000100, 0, 2 };
	static struct kam_project project = {
		.id = 7, .account_id = 42, .name = "Retrofit", .stage = KAM_PSTAGE_SOLUTION, .status = KAM_PSTATUS_OPEN,
		.reason = "", .owner = "bob", .involved = KAM_PSTAGE_NEED, .stages_taken = 0x38,
		.expected_value = { true, 12000000 }, .currency = "EUR", .close_date = "2027-06-30",
		.history = moves, .n_history = 2, .support = { true, 80 }, .oppose = { true, 30 }, .version = 3 };
	static struct kam_contact contact = {
		.id = 3, .account_id = 42, .name = "Jane Roe", .title = "CTO", .decision_role = "decision maker",
		.criteria = "uptime", .weight = { true, 80 }, .stance = KAM_STANCE_SUPPORT, .org_needs = "fewer outages",
		.personal_needs = "recognition", .projects = links, .n_projects = 1, .version = 1 };
	static struct kam_value value = { 4, 42, KAM_VLEVEL_BUSINESS, "half the downtime", "alice", 1700000000 };
	static struct kam_agreement agreement = { 5, 42, "both CEOs", "2026-01-10", "all plants", { true, 36 }, "gm",
						  1700000000 };
	static struct kam_gap gap = { "joined_late", "project 7: we joined late, at need", 7 };
	struct kam_team_row row = { .account = *acc, .open_projects = 1, .support = { true, 80 },
				    .oppose = { true, 30 }, .projects_led = 1, .gaps = 2 };
	struct kam_layers layers = { .has_account = true, .account = *acc, .barriers = &barrier, .n_barriers = 1,
				     .projects = &project, .n_projects = 1, .contacts = &contact, .n_contacts = 1,
				     .values = &value, .n_values = 1, .agreements = &agreement, .n_agreements = 1 };
	struct kam_response r;
	int rc = 0;

	r = (struct kam_response){ .id = 40, .op = KAM_OP_ACCOUNT_LAYERS, .u.layers = layers };
	rc |= put_response(dir, "account_layers", &r);
	r = (struct kam_response){ .id = 41, .op = KAM_OP_REVIEW_ACCOUNT };
	r.u.review.layers = layers;
	r.u.review.gaps = &gap;
	r.u.review.n_gaps = 1;
	rc |= put_response(dir, "review_account", &r);
	row.account.has_info = false;
	r = (struct kam_response){ .id = 42, .op = KAM_OP_REVIEW_TEAM };
	r.u.review_team.rows = &row;
	r.u.review_team.n = 1;
	rc |= put_response(dir, "review_team", &r);
	return rc;
}

static int responses(const char *dir)
{
	struct kam_user user = { .id = 1, .username = "alice", .role = KAM_ROLE_MANAGER, .reports_to = "gm",
				 .active = true, .created_at = 1700000000 };
	struct kam_account acc = {
		.id = 42, .name = "Acme GmbH", .tier = KAM_TIER_TOP, .stage = KAM_STAGE_CONSOLIDATION,
		.strategy = KAM_STRATEGY_WATCH, .owner = "alice", .n_team = 2, .team = team, .has_info = true,
		.info = { .founded = { true, 1950 }, .headcount = { true, 1200 }, .business = "pumps",
			  .revenue = { true, 99000000 }, .budget = { false, 0 }, .currency = "EUR",
			  .suppliers = "Rival AG", .notes = "" },
		.created_at = 1700000000, .updated_at = 1700000500, .version = 4,
	};
	static const struct { enum kam_op op; const char *name; } account_ops[] = {
		{ KAM_OP_ACCOUNT_ADD, "account_add" }, { KAM_OP_ACCOUNT_SHOW, "account_show" },
		{ KAM_OP_ACCOUNT_SET, "account_set" }, { KAM_OP_ACCOUNT_ASSIGN, "account_assign" },
		{ KAM_OP_ACCOUNT_UNASSIGN, "account_unassign" },
	};
	struct kam_user users[2] = { user, user };
	struct kam_account accs[2] = { acc, acc };
	struct kam_response r;
	int rc = 0;

	r = (struct kam_response){ .id = 1, .op = KAM_OP_LOGIN };
	memcpy(r.u.login.token, token, KAM_TOKEN_LEN);
	r.u.login.user = user;
	r.u.login.expires_at = 1700086400;
	rc |= put_response(dir, "login", &r);
	r = (struct kam_response){ .id = 2, .op = KAM_OP_LOGOUT };
	rc |= put_response(dir, "logout", &r);
	r = (struct kam_response){ .id = 3, .op = KAM_OP_WHOAMI };
	r.u.whoami.user = user;
	r.u.whoami.expires_at = 1700086400;
	rc |= put_response(dir, "whoami", &r);
	r = (struct kam_response){ .id = 4, .op = KAM_OP_USER_ADD };
	r.u.user = user;
	rc |= put_response(dir, "user_add", &r);
	users[1].username = "bob";
	users[1].role = KAM_ROLE_JUNIOR;
	r = (struct kam_response){ .id = 5, .op = KAM_OP_USER_LIST };
	r.u.user_list.n = 2;
	r.u.user_list.users = users;
	rc |= put_response(dir, "user_list", &r);
	for (size_t i = 0; i < sizeof(account_ops) / sizeof(account_ops[0]); i++) {
		r = (struct kam_response){ .id = 6 + i, .op = account_ops[i].op };
		r.u.account = acc;
		rc |= put_response(dir, account_ops[i].name, &r);
	}
	accs[0].has_info = accs[1].has_info = false;
	accs[1].id = 43;
	r = (struct kam_response){ .id = 11, .op = KAM_OP_ACCOUNT_LIST };
	r.u.account_list.n = 2;
	r.u.account_list.accounts = accs;
	r.u.account_list.next_after_id = 43;
	rc |= put_response(dir, "account_list", &r);
	r = (struct kam_response){ .id = 12, .op = KAM_OP_NONE };
	r.error = (struct kam_error){ KAM_STATUS_INVALID_ARGUMENT, "username is longer than 63 bytes", "username" };
	rc |= put_response(dir, "error", &r);
	/* -- layers (issue 3): every row type, a review with gaps, a team row -- */
	rc |= layer_responses(dir, &acc);
	/* -- audit and churn (issue 4) -- */
	{
		static struct kam_audit_entry e = { 9, 1700000000, "bob", KAM_ROLE_JUNIOR, "account.show", 42, "Acme GmbH",
						    "allowed", "10.0.0.1:40000", "{\"layers\":[\"information\"]}" };
		static struct kam_export_item item;

		r = (struct kam_response){ .id = 80, .op = KAM_OP_AUDIT_LOG, .u.audit_log = { 1, &e, 9 } };
		rc |= put_response(dir, "audit_log", &r);
		item.account = acc;
		item.layers = "{\"barriers\":[{\"id\":1,\"kind\":2}]}";
		r = (struct kam_response){ .id = 86, .op = KAM_OP_EXPORT, .u.export_page = { 11, 40, 1, &item, 42 } };
		rc |= put_response(dir, "export", &r);
	}
	/* -- hostile clients (issue 6) -- */
	r = (struct kam_response){ .id = 100, .op = KAM_OP_USER_PASSWD };
	r.u.user_passwd.user = user;
	r.u.user_passwd.sessions_revoked = 2;
	rc |= put_response(dir, "user_passwd", &r);
	r = (struct kam_response){ .id = 101, .op = KAM_OP_USER_UNLOCK };
	r.u.user_unlock.user = user;
	r.u.user_unlock.failures = 7;
	r.u.user_unlock.locked_until = 1700000900;
	rc |= put_response(dir, "user_unlock", &r);
	/* -- faults (issue 7): a keyed write applied before -- */
	r = (struct kam_response){ .id = 6, .op = KAM_OP_NONE, .replayed = true };
	rc |= put_response(dir, "replayed", &r);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR   (writes DIR/request/* and DIR/response/*)\n", argv[0]);
		return 2;
	}
	if (requests(argv[1]) != 0 || responses(argv[1]) != 0) {
		fprintf(stderr, "%s: could not write the corpus (do DIR/request and DIR/response exist?)\n", argv[0]);
		return 1;
	}
	return 0;
}
