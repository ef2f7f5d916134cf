/*
 * The option values of kam-bench: the mix, account ids and ranges, the server
 * address, comma lists. Pure functions over strings; they report what is
 * wrong through a static message and never print or exit.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

const char *const bench_op_names[OP__COUNT] = { "read", "update", "list", "review" };

/* A weight, a count: decimal digits only, no sign, no overflow past max. */
static int parse_uint(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0)
		return KAM_EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return KAM_EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > max)
			return KAM_EINVAL;
	}
	*out = v;
	return 0;
}

/* The weights are percentages in spirit, but any positive integers do: 7,2,1 is 70,20,10. */
#define BENCH_MAX_WEIGHT 1000000u

int bench_parse_mix(const char *s, unsigned w[OP__COUNT], const char **why)
{
	uint64_t total = 0;

	memset(w, 0, OP__COUNT * sizeof(w[0]));
	while (*s) {
		size_t item = strcspn(s, ","), name;
		const char *eq = memchr(s, '=', item);
		uint64_t v;
		int op;

		if (!eq) {
			*why = "each mix item is NAME=WEIGHT";
			return KAM_EINVAL;
		}
		name = (size_t)(eq - s);
		for (op = 0; op < OP__COUNT; op++)
			if (strlen(bench_op_names[op]) == name && memcmp(s, bench_op_names[op], name) == 0)
				break;
		if (op == OP__COUNT) {
			*why = "mix names are read, update, list and review";
			return KAM_EINVAL;
		}
		if (parse_uint(eq + 1, item - name - 1, BENCH_MAX_WEIGHT, &v) < 0) {
			*why = "a mix weight is a whole number up to 1000000";
			return KAM_EINVAL;
		}
		w[op] = (unsigned)v;
		total += v;
		s += item;
		if (*s == ',' && *++s == '\0') {
			*why = "the mix ends with a comma";
			return KAM_EINVAL;
		}
	}
	if (total == 0) {
		*why = "the mix needs at least one weight above 0";
		return KAM_EINVAL;
	}
	return 0;
}

int bench_parse_ids(const char *s, int64_t **out, size_t *n_out, const char **why)
{
	int64_t *ids = NULL;
	size_t n = 0, cap = 0;

	*out = NULL;
	*n_out = 0;
	while (*s) {
		size_t item = strcspn(s, ","), dash = strcspn(s, "-");
		uint64_t lo, hi;

		if (dash < item) {
			if (parse_uint(s, dash, INT64_MAX, &lo) < 0 ||
			    parse_uint(s + dash + 1, item - dash - 1, INT64_MAX, &hi) < 0 || hi < lo)
				goto bad;
		} else if (parse_uint(s, item, INT64_MAX, &lo) < 0) {
			goto bad;
		} else {
			hi = lo;
		}
		if (lo == 0)
			goto bad;
		if (hi - lo >= BENCH_MAX_IDS || n + (hi - lo + 1) > BENCH_MAX_IDS) {
			*why = "too many account ids (at most 10000000)";
			free(ids);
			return KAM_EINVAL;
		}
		if (n + (hi - lo + 1) > cap) {
			size_t ncap = cap ? cap : 64;
			int64_t *p;

			while (ncap < n + (hi - lo + 1))
				ncap *= 2;
			if (!(p = realloc(ids, ncap * sizeof(*ids)))) {
				free(ids);
				return KAM_ENOMEM;
			}
			ids = p;
			cap = ncap;
		}
		for (uint64_t v = lo; v <= hi; v++)
			ids[n++] = (int64_t)v;
		s += item;
		if (*s == ',' && *++s == '\0')
			goto bad;
	}
	if (n == 0)
		goto bad;
	*out = ids;
	*n_out = n;
	return 0;
bad:
	*why = "accounts are ids and ranges: 1-100,250,300-310";
	free(ids);
	return KAM_EINVAL;
}

int bench_parse_hostport(const char *s, char *host, size_t host_cap, char *port, size_t port_cap)
{
	const char *colon, *h = s;
	size_t hlen;

	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return KAM_EINVAL;
		h = s + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		if (!(colon = strrchr(s, ':')))
			return KAM_EINVAL;
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= host_cap || strlen(colon + 1) == 0 || strlen(colon + 1) >= port_cap ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return KAM_EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	memcpy(port, colon + 1, strlen(colon + 1) + 1);
	return 0;
}

int bench_split_list(const char *s, char **store, const char ***out, size_t *n_out)
{
	char *copy = NULL, *p;
	const char **v = NULL;
	size_t n = 1;
	const char *q;

	*store = NULL;
	*out = NULL;
	*n_out = 0;
	if (!*s)
		return KAM_EINVAL;
	for (q = s; *q; q++)
		n += *q == ',';
	if (!(copy = strdup(s)) || !(v = calloc(n, sizeof(*v))))
		goto nomem;
	n = 0;
	for (p = copy;;) {
		char *comma = strchr(p, ',');

		if (comma)
			*comma = '\0';
		if (!*p) {
			free(v);
			free(copy);
			return KAM_EINVAL;
		}
		v[n++] = p;
		if (!comma)
			break;
		p = comma + 1;
	}
	*store = copy;
	*out = v;
	*n_out = n;
	return 0;
nomem:
	free(copy);
	free(v);
	return KAM_ENOMEM;
}
