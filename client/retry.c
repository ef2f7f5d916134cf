/*
 * What kam sends a second time when the connection drops before the answer
 * (issue 7), by common/msg.c's op kinds: a read as it is, a write with the same
 * random request key (kamd applies a key once). Never a third time: the failure
 * then names the key for --request-key. Never a login, an export or a passwd.
 */
#include <jansson.h>

#include "client.h"
#include "msg.h"

#define REPLAYED_MSG "kam: already applied (the first answer was lost); nothing changed now\n"

bool cli_op_retryable(enum kam_op op)
{
	enum kam_op_kind kind = kam_op_kind(op);

	return kind == KAM_OP_KIND_READ || kind == KAM_OP_KIND_WRITE;
}

int cli_request_key_arg(struct cli *cli, const char *hex)
{
	size_t n = strlen(hex);

	if (n % 2 || n / 2 < KAM_REQUEST_KEY_MIN || n / 2 > KAM_REQUEST_KEY_MAX ||
	    kam_hex_decode(hex, cli->user_key, n / 2) < 0)
		return cli_usage_error(cli, "--request-key takes %d to %d hex digits (a key of %d to %d bytes)",
				       2 * KAM_REQUEST_KEY_MIN, 2 * KAM_REQUEST_KEY_MAX, KAM_REQUEST_KEY_MIN,
				       KAM_REQUEST_KEY_MAX);
	cli->user_key_len = n / 2;
	return KAM_EXIT_OK;
}

int cli_request_key(struct cli *cli, struct kam_request *req)
{
	int r;

	req->key_len = 0;
	if (kam_op_kind(req->op) != KAM_OP_KIND_WRITE) {
		if (cli->user_key_len)
			return cli_usage_error(cli, "--request-key does not apply to '%s' (only to changes kam may "
					       "send twice)", cli->cmd_name ? cli->cmd_name : kam_op_str(req->op));
		return KAM_EXIT_OK;
	}
	if (cli->user_key_len) {
		/* The user's key names one write: a second one in the same run gets its own. */
		memcpy(req->key, cli->user_key, cli->user_key_len);
		req->key_len = cli->user_key_len;
		cli->user_key_len = 0;
	} else {
		if ((r = kam_random_bytes(req->key, CLI_REQUEST_KEY_LEN)) < 0)
			return cli_fail(cli, KAM_EXIT_LOCAL, CLI_CODE_LOCAL, NULL, "cannot make a request key: %s",
					kam_strerror(r));
		req->key_len = CLI_REQUEST_KEY_LEN;
	}
	kam_hex_encode(req->key, req->key_len, cli->key_hex);
	return KAM_EXIT_OK;
}

const char *cli_key_hint(struct cli *cli, char *buf, size_t cap)
{
	snprintf(buf, cap, "the change may or may not have been applied; to finish it, run the same command "
		 "again as 'kam --request-key %s ...' (kamd applies a key at most once)", cli->key_hex);
	return buf;
}

int cli_replayed(struct cli *cli)
{
	fputs(REPLAYED_MSG, stderr);
	if (cli->json) {
		json_t *doc = json_pack("{s:b}", "replayed", 1);
		int rc = json_print(cli, doc);

		if (rc != 0)
			return rc;
	}
	return KAM_EXIT_REPLAYED;
}
