/*
 * A new password hashed off the loop (passwd.h), for user add and user
 * passwd: argon2id with the configured costs on the thread pool, the result
 * back on the loop for the call to go on. The worker touches only its job;
 * nothing here logs or keeps a password.
 */
#include "passwd.h"
#include "svc_call.h"
#include "work.h"

struct hash_job {
	struct svc_call *c;
	const char *password;
	char *out;
	size_t out_len;
	int rc;                       /* written by the worker */
	svc_hashed_fn done;
};

static void hash_work(void *arg)
{
	struct hash_job *j = arg;

	j->rc = svc_password_hash(svc_config(), j->password, j->out, j->out_len);
}

static void hash_done(void *arg, int status)
{
	struct hash_job *j = arg;

	svc_resume(j->c, j->done, status < 0 ? status : j->rc);
}

int svc_hash_password_async(struct svc_call *c, const char *password, char *out, size_t out_len,
			    svc_hashed_fn done)
{
	struct hash_job *j = kam_arena_alloc(&c->arena, sizeof(*j));

	if (!j)
		return KAM_ENOMEM;
	*j = (struct hash_job){ .c = c, .password = password, .out = out, .out_len = out_len, .done = done };
	return work_submit(hash_work, hash_done, j);
}
