/*
 * The listening socket and the network layer's own handles: bind and listen,
 * hand each accepted connection to session.c, tick the janitor, drain and
 * shut down. It never reads or writes a connection's bytes and never looks
 * inside a request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "net_internal.h"

/* Pending connections the kernel may hold for us; it caps this at somaxconn anyway. */
#define NET_BACKLOG 511
/* One tick for every connection timeout: they are whole seconds, so 1 s is precise enough. */
#define NET_JANITOR_MS 1000

void net_format_addr(const struct sockaddr *sa, char *out, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;

		(void)uv_ip6_name(a, ip, sizeof(ip));
		snprintf(out, len, "[%s]:%u", ip, (unsigned)ntohs(a->sin6_port));
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)sa;

		(void)uv_ip4_name(a, ip, sizeof(ip));
		snprintf(out, len, "%s:%u", ip, (unsigned)ntohs(a->sin_port));
	} else {
		snprintf(out, len, "unknown");
	}
}

/* HOST:PORT as the operator writes it: IPv6 addresses in brackets. */
static void host_port(char *out, size_t len, const char *host, int port)
{
	snprintf(out, len, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
}

static void on_own_close(uv_handle_t *h)
{
	struct net *n = h->data;

	if (--n->handles_open == 0 && n->on_closed)
		n->on_closed(n->on_closed_arg);
}

static void free_net_cb(void *arg)
{
	free(arg);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct net *n = server->data;

	if (status < 0) {
		log_warn("accept on %s failed: %s", n->addr, uv_strerror(status));
		return;
	}
	session_accept(n);
}

static void on_janitor(uv_timer_t *t)
{
	struct net *n = t->data;

	sessions_tick(n, uv_now(n->loop));
}

/* Blocking name resolution: start-up only, before the loop runs. */
static int net_resolve(uv_loop_t *loop, const char *host, int port, struct sockaddr_storage *out,
		       char *why, size_t why_len)
{
	uv_getaddrinfo_t req;
	struct addrinfo hints;
	char service[16];
	int r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(service, sizeof(service), "%d", port);
	r = uv_getaddrinfo(loop, &req, NULL, host, service, &hints);   /* no callback: synchronous */
	if (r < 0) {
		snprintf(why, why_len, "cannot resolve listen address %s: %s", host, uv_strerror(r));
		return r;
	}
	memcpy(out, req.addrinfo->ai_addr, req.addrinfo->ai_addrlen);
	uv_freeaddrinfo(req.addrinfo);
	return 0;
}

int net_start(uv_loop_t *loop, const struct kamd_config *cfg, struct net_tls *tls,
	      struct net **out, char *why, size_t why_len)
{
	struct sockaddr_storage addr;
	int len = sizeof(addr);
	struct net *n = NULL;
	int r;

	n = calloc(1, sizeof(*n));
	if (!n) {
		snprintf(why, why_len, "out of memory");
		return KAM_ENOMEM;
	}
	n->loop = loop;
	n->max_frame = cfg->max_frame;
	n->max_frame_prelogin = cfg->max_frame_prelogin;
	n->max_connections = (size_t)cfg->max_connections;
	n->login_timeout_ms = (uint64_t)cfg->login_timeout_s * 1000;
	n->idle_timeout_ms = (uint64_t)cfg->idle_timeout_s * 1000;
	n->max_inflight = (unsigned)cfg->max_inflight_per_session;
	n->max_queued_output = cfg->max_queued_output;
	n->max_per_address = (unsigned)cfg->max_connections_per_address;

	r = net_resolve(loop, cfg->listen_host, cfg->listen_port, &addr, why, why_len);
	if (r < 0) {
		free(n);
		return r;
	}
	r = uv_tcp_init(loop, &n->listener);
	if (r < 0) {
		snprintf(why, why_len, "cannot create the listening socket: %s", uv_strerror(r));
		free(n);
		return r;
	}
	n->listener.data = n;
	n->handles_open = 1;
	/* libuv may report a bind error only from uv_listen: check both. */
	r = uv_tcp_bind(&n->listener, (const struct sockaddr *)&addr, 0);
	if (r == 0)
		r = uv_listen((uv_stream_t *)&n->listener, NET_BACKLOG, on_connection);
	if (r < 0) {
		char where[NET_ADDR_LEN + 256];

		host_port(where, sizeof(where), cfg->listen_host, cfg->listen_port);
		snprintf(why, why_len, "cannot listen on %s: %s", where, uv_strerror(r));
		/* The handle is on the loop now: it is freed by its close callback. */
		n->on_closed = free_net_cb;
		n->on_closed_arg = n;
		uv_close((uv_handle_t *)&n->listener, on_own_close);
		return r;
	}
	n->listening = true;
	if (uv_tcp_getsockname(&n->listener, (struct sockaddr *)&addr, &len) == 0)
		net_format_addr((const struct sockaddr *)&addr, n->addr, sizeof(n->addr));
	else
		host_port(n->addr, sizeof(n->addr), cfg->listen_host, cfg->listen_port);

	uv_timer_init(loop, &n->janitor);
	n->janitor.data = n;
	n->handles_open++;
	uv_timer_start(&n->janitor, on_janitor, NET_JANITOR_MS, NET_JANITOR_MS);
	uv_idle_init(loop, &n->kick);
	n->kick.data = n;
	n->handles_open++;

	n->tls = net_tls_ref(tls);
	*out = n;
	return 0;
}

const char *net_listen_addr(const struct net *n)
{
	return n->addr;
}

void net_set_tls(struct net *n, struct net_tls *tls)
{
	struct net_tls *old = n->tls;

	n->tls = net_tls_ref(tls);
	net_tls_unref(old);
}

static void net_stop_listening(struct net *n)
{
	if (!n->listening)
		return;
	n->listening = false;
	uv_close((uv_handle_t *)&n->listener, on_own_close);
	log_info("stopped accepting connections on %s", n->addr);
}

void net_drain(struct net *n)
{
	n->draining = true;
	net_stop_listening(n);
	sessions_pause(n);
}

size_t net_inflight(const struct net *n)
{
	return n->inflight;
}

static void net_close_own_handles(struct net *n)
{
	if (n->own_closing)
		return;
	n->own_closing = true;
	/* Release the references the kick list holds before its handle goes. */
	if (n->kick_head)
		sessions_on_kick(&n->kick);
	uv_close((uv_handle_t *)&n->janitor, on_own_close);
	uv_close((uv_handle_t *)&n->kick, on_own_close);
}

void net_session_closed(struct net *n)
{
	if (n->shutting_down && !n->sessions)
		net_close_own_handles(n);
}

void net_shutdown(struct net *n, void (*cb)(void *arg), void *arg)
{
	n->on_closed = cb;
	n->on_closed_arg = arg;
	n->shutting_down = true;
	n->draining = true;
	net_stop_listening(n);
	/* The janitor keeps running until the last session is gone: it bounds their flush. */
	if (n->sessions)
		sessions_close_all(n);
	else
		net_close_own_handles(n);
}

size_t net_close_sessions(struct net *n, int64_t session_id, int64_t user_id)
{
	return n ? sessions_revoke(n, session_id, user_id) : 0;
}

void net_free(struct net *n)
{
	if (!n)
		return;
	if (n->n_alloc > 0) {
		/* Someone still holds a session that points here: leak rather than dangle. */
		log_error("network layer: %zu sessions still referenced at exit", n->n_alloc);
		return;
	}
	net_tls_unref(n->tls);
	peers_free(&n->peers);
	free(n);
}
