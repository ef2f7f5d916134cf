/*
 * Connections per client address, for max_connections_per_address: a small
 * hash table of address keys with a count each, and the key of an address.
 * Internal to server/net/; pure (no libuv handles, no I/O).
 */
#ifndef KAMD_NET_PEERS_H
#define KAMD_NET_PEERS_H

#include <stddef.h>
#include <sys/socket.h>

/* "ffff:ffff:ffff:ffff::/64" or a dotted IPv4 address, and the NUL. */
#define PEER_KEY_LEN 48
/* Fixed: chains stay short up to tens of thousands of distinct addresses. */
#define PEER_BUCKETS 1024

struct peer;

struct peer_table {
	struct peer *bucket[PEER_BUCKETS];
	size_t n_keys;                 /* addresses with at least one connection */
};

/*
 * The key limits apply to: an IPv4 address as it is; an IPv4-mapped IPv6
 * address as its IPv4 address; any other IPv6 address as its /64, which is
 * what one host or site is usually given. "" for other families.
 */
void peer_key(const struct sockaddr *sa, char out[PEER_KEY_LEN]);

/* One more connection from key: the new count, or 0 when out of memory (nothing counted). */
unsigned peers_inc(struct peer_table *t, const char *key);
/* One connection from key fewer; the entry goes when its count reaches 0. */
void peers_dec(struct peer_table *t, const char *key);
/* Connections counted for key. */
unsigned peers_count(const struct peer_table *t, const char *key);
/* Release every entry (at exit). */
void peers_free(struct peer_table *t);

#endif
