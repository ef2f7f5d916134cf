/*
 * A refcounted wrapper around the server TLS context, so SIGHUP can install
 * a new certificate while connections made with the old one keep it until
 * they close. It must not load files itself: main.c does that.
 */
#include <assert.h>
#include <stdlib.h>

#include "net.h"
#include "tls.h"

struct net_tls {
	struct tls_ctx *ctx;
	unsigned refs;
};

int net_tls_new(struct tls_ctx *ctx, struct net_tls **out)
{
	struct net_tls *t = malloc(sizeof(*t));

	if (!t) {
		tls_ctx_free(ctx);
		return KAM_ENOMEM;
	}
	t->ctx = ctx;
	t->refs = 1;
	*out = t;
	return 0;
}

struct net_tls *net_tls_ref(struct net_tls *t)
{
	t->refs++;
	return t;
}

void net_tls_unref(struct net_tls *t)
{
	if (!t)
		return;
	assert(t->refs > 0);
	if (--t->refs > 0)
		return;
	tls_ctx_free(t->ctx);
	free(t);
}

struct tls_ctx *net_tls_ctx(const struct net_tls *t)
{
	return t->ctx;
}
