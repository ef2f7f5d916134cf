/*
 * Connections per client address (peers.h): a chained hash table keyed by
 * the address as limits see it (IPv4, or an IPv6 /64). Entries exist only
 * while their address has a connection, so the table is bounded by the
 * number of live connections. It never touches a socket or a handle.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peers.h"

struct peer {
	struct peer *next;
	unsigned count;
	char key[PEER_KEY_LEN];
};

void peer_key(const struct sockaddr *sa, char out[PEER_KEY_LEN])
{
	out[0] = '\0';
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)sa;

		if (!inet_ntop(AF_INET, &a->sin_addr, out, PEER_KEY_LEN))
			out[0] = '\0';
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)sa;
		const uint8_t *b = a->sin6_addr.s6_addr;

		if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
			if (!inet_ntop(AF_INET, b + 12, out, PEER_KEY_LEN))
				out[0] = '\0';
			return;
		}
		snprintf(out, PEER_KEY_LEN, "%x:%x:%x:%x::/64", (unsigned)(b[0] << 8 | b[1]),
			 (unsigned)(b[2] << 8 | b[3]), (unsigned)(b[4] << 8 | b[5]), (unsigned)(b[6] << 8 | b[7]));
	}
}

/* FNV-1a: keys are short and not chosen freely by a remote peer beyond its own address. */
static size_t peer_hash(const char *key)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h % PEER_BUCKETS;
}

static struct peer **peer_slot(struct peer_table *t, const char *key)
{
	struct peer **pp = &t->bucket[peer_hash(key)];

	while (*pp && strcmp((*pp)->key, key) != 0)
		pp = &(*pp)->next;
	return pp;
}

unsigned peers_inc(struct peer_table *t, const char *key)
{
	struct peer **pp = peer_slot(t, key);
	struct peer *p = *pp;

	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return 0;
		snprintf(p->key, sizeof(p->key), "%s", key);
		*pp = p;
		t->n_keys++;
	}
	return ++p->count;
}

void peers_dec(struct peer_table *t, const char *key)
{
	struct peer **pp = peer_slot(t, key);
	struct peer *p = *pp;

	if (!p)
		return;
	if (--p->count > 0)
		return;
	*pp = p->next;
	free(p);
	t->n_keys--;
}

unsigned peers_count(const struct peer_table *t, const char *key)
{
	const struct peer *p = t->bucket[peer_hash(key)];

	while (p && strcmp(p->key, key) != 0)
		p = p->next;
	return p ? p->count : 0;
}

void peers_free(struct peer_table *t)
{
	for (size_t i = 0; i < PEER_BUCKETS; i++) {
		while (t->bucket[i]) {
			struct peer *p = t->bucket[i];

			t->bucket[i] = p->next;
			free(p);
		}
	}
	t->n_keys = 0;
}
