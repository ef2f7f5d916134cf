/*
 * Unit tests of kam-bench's pure parts: the log-linear histogram (bucket
 * bounds, resolution, quantiles, merge) and the option parsers (mix, account
 * ids and ranges, host:port, comma lists). No I/O, no server.
 */
#include <stdlib.h>

#include "bench.h"
#include "test.h"

/* Every value lies inside its bucket, and a bucket is at most 1/32 of its low end wide. */
TEST(hist_buckets_contain_their_values)
{
	static const uint64_t probes[] = { 0, 1, 63, 64, 65, 127, 128, 129, 1000, 4095, 4096, 123456789,
					   (1ull << 39) + 12345, (1ull << 40) - 1 };

	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		uint64_t v = probes[i];
		unsigned idx = hist_index(v);

		ASSERT(idx < HIST_BUCKETS - 1);
		ASSERT(hist_bucket_low(idx) <= v);
		ASSERT(hist_bucket_high(idx) >= v);
		if (v >= HIST_LINEAR)
			ASSERT((hist_bucket_high(idx) - hist_bucket_low(idx) + 1) * HIST_SUB <= hist_bucket_low(idx));
		else
			ASSERT_EQ(idx, v);
	}
	ASSERT_EQ(hist_index(1ull << 40), HIST_BUCKETS - 1);
	ASSERT_EQ(hist_index(UINT64_MAX), HIST_BUCKETS - 1);
}

/* Buckets tile the range: each starts one past the previous one's end. */
TEST(hist_buckets_are_contiguous)
{
	for (unsigned i = 1; i < HIST_BUCKETS; i++) {
		ASSERT_EQ(hist_bucket_low(i), hist_bucket_high(i - 1) + 1);
		ASSERT_EQ(hist_index(hist_bucket_low(i)), i);
		ASSERT_EQ(hist_index(hist_bucket_high(i - 1)), i - 1);
	}
}

/* 1..10000 microseconds, once each: quantiles within the resolution of the exact ones. */
TEST(hist_quantiles)
{
	struct hist *h = calloc(1, sizeof(*h));
	static const double qs[] = { 0.5, 0.95, 0.99, 1.0 };

	ASSERT(h);
	ASSERT_EQ(hist_quantile(h, 0.5), 0);
	for (uint64_t us = 1; us <= 10000; us++)
		hist_record(h, us * 1000);
	ASSERT_EQ(h->count, 10000);
	ASSERT_EQ(h->min, 1000);
	ASSERT_EQ(h->max, 10000000);
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		double exact = qs[i] * 10000 * 1000, got = (double)hist_quantile(h, qs[i]);

		if (!(got >= exact && got <= exact * (1 + 1.0 / HIST_SUB))) {
			free(h);
			TEST_FAIL_("quantile %.2f: %.0f, exact %.0f", qs[i], got, exact);
		}
	}
	ASSERT_EQ(hist_quantile(h, 1.0), h->max);
	free(h);
}

/* One slow request among many shows at p99 only when it is more than 1 %. */
TEST(hist_tail)
{
	struct hist *h = calloc(1, sizeof(*h));

	ASSERT(h);
	for (int i = 0; i < 99; i++)
		hist_record(h, 1000000);
	hist_record(h, 50000000);
	ASSERT(hist_quantile(h, 0.99) < 1100000);
	ASSERT_EQ(hist_quantile(h, 1.0), 50000000);
	hist_record(h, 50000000);
	ASSERT(hist_quantile(h, 0.99) >= 50000000);
	free(h);
}

TEST(hist_merge_adds_up)
{
	struct hist *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));

	ASSERT(a && b);
	hist_record(a, 10);
	hist_record(a, 5000);
	hist_record(b, 3);
	hist_record(b, 900000);
	hist_merge(a, b);
	ASSERT_EQ(a->count, 4);
	ASSERT_EQ(a->min, 3);
	ASSERT_EQ(a->max, 900000);
	ASSERT_EQ(a->sum, 10 + 5000 + 3 + 900000);
	hist_reset(b);
	hist_merge(a, b);
	ASSERT_EQ(a->count, 4);
	free(a);
	free(b);
}

TEST(mix_parses)
{
	unsigned w[OP__COUNT];
	const char *why = NULL;

	ASSERT_EQ(bench_parse_mix("read=70,update=20,list=10,review=0", w, &why), 0);
	ASSERT_EQ(w[OP_READ], 70);
	ASSERT_EQ(w[OP_UPDATE], 20);
	ASSERT_EQ(w[OP_LIST], 10);
	ASSERT_EQ(w[OP_REVIEW], 0);
	ASSERT_EQ(bench_parse_mix("review=1", w, &why), 0);
	ASSERT_EQ(w[OP_READ], 0);
	ASSERT_EQ(w[OP_REVIEW], 1);
}

TEST(mix_refuses)
{
	static const char *const bad[] = { "", "read", "read=", "read=x", "write=1", "read=0", "read=1,",
					   "read=-1", "read=1,,list=2", "read=99999999999" };
	unsigned w[OP__COUNT];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = NULL;

		if (bench_parse_mix(bad[i], w, &why) != KAM_EINVAL || !why)
			TEST_FAIL_("mix '%s' was accepted", bad[i]);
	}
}

TEST(ids_parse_lists_and_ranges)
{
	int64_t *ids = NULL;
	size_t n = 0;
	const char *why = NULL;

	ASSERT_EQ(bench_parse_ids("3,7-9,12", &ids, &n, &why), 0);
	ASSERT_EQ(n, 5);
	ASSERT_EQ(ids[0], 3);
	ASSERT_EQ(ids[1], 7);
	ASSERT_EQ(ids[3], 9);
	ASSERT_EQ(ids[4], 12);
	free(ids);
	ASSERT_EQ(bench_parse_ids("1-10000", &ids, &n, &why), 0);
	ASSERT_EQ(n, 10000);
	ASSERT_EQ(ids[9999], 10000);
	free(ids);
}

TEST(ids_refuse)
{
	static const char *const bad[] = { "", "0", "5-3", "a", "1,", ",1", "1-", "-4", "1-20000000", "1--2" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t *ids = NULL;
		size_t n = 0;
		const char *why = NULL;

		if (bench_parse_ids(bad[i], &ids, &n, &why) != KAM_EINVAL || ids || !why)
			TEST_FAIL_("ids '%s' were accepted", bad[i]);
	}
}

TEST(hostport)
{
	char host[64], port[8];

	ASSERT_EQ(bench_parse_hostport("127.0.0.1:7433", host, sizeof(host), port, sizeof(port)), 0);
	ASSERT_STR_EQ(host, "127.0.0.1");
	ASSERT_STR_EQ(port, "7433");
	ASSERT_EQ(bench_parse_hostport("[::1]:99", host, sizeof(host), port, sizeof(port)), 0);
	ASSERT_STR_EQ(host, "::1");
	ASSERT_EQ(bench_parse_hostport("localhost", host, sizeof(host), port, sizeof(port)), KAM_EINVAL);
	ASSERT_EQ(bench_parse_hostport(":7433", host, sizeof(host), port, sizeof(port)), KAM_EINVAL);
	ASSERT_EQ(bench_parse_hostport("h:", host, sizeof(host), port, sizeof(port)), KAM_EINVAL);
	ASSERT_EQ(bench_parse_hostport("h:12x", host, sizeof(host), port, sizeof(port)), KAM_EINVAL);
	ASSERT_EQ(bench_parse_hostport("h:123456789", host, sizeof(host), port, sizeof(port)), KAM_EINVAL);
}

TEST(split_list)
{
	char *store = NULL;
	const char **v = NULL;
	size_t n = 0;

	ASSERT_EQ(bench_split_list("ann,bob,cy", &store, &v, &n), 0);
	ASSERT_EQ(n, 3);
	ASSERT_STR_EQ(v[0], "ann");
	ASSERT_STR_EQ(v[2], "cy");
	free(v);
	free(store);
	ASSERT_EQ(bench_split_list("ann,,cy", &store, &v, &n), KAM_EINVAL);
	ASSERT(!store && !v);
	ASSERT_EQ(bench_split_list("", &store, &v, &n), KAM_EINVAL);
}

TEST_MAIN(TEST_ENTRY(hist_buckets_contain_their_values), TEST_ENTRY(hist_buckets_are_contiguous),
	  TEST_ENTRY(hist_quantiles), TEST_ENTRY(hist_tail), TEST_ENTRY(hist_merge_adds_up), TEST_ENTRY(mix_parses),
	  TEST_ENTRY(mix_refuses), TEST_ENTRY(ids_parse_lists_and_ranges), TEST_ENTRY(ids_refuse), TEST_ENTRY(hostport),
	  TEST_ENTRY(split_list))
