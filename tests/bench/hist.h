/*
 * A log-linear latency histogram in the manner of HdrHistogram: exact below
 * 64 ns, then 32 buckets per power of two (at most about 3 % error), up to
 * about 18 minutes. Fixed size, so recording never allocates.
 */
#ifndef KAM_BENCH_HIST_H
#define KAM_BENCH_HIST_H

#include <stdint.h>

/* Sub-buckets per power of two, as a power of two: 2^5 = 32, about 3 % resolution. */
#define HIST_SUB_BITS 5
#define HIST_SUB (1u << HIST_SUB_BITS)
/* Values below this are counted exactly, one bucket each. */
#define HIST_LINEAR (2u * HIST_SUB)
/* Values from 2^HIST_MAX_EXP on share the last bucket (2^40 ns is 18 minutes). */
#define HIST_MAX_EXP 40
/* Exact buckets, then SUB per power of two from 2^(SUB_BITS+1) to 2^MAX_EXP, then the overflow. */
#define HIST_BUCKETS (HIST_LINEAR + (HIST_MAX_EXP - HIST_SUB_BITS - 1) * HIST_SUB + 1)

struct hist {
	uint64_t count;
	uint64_t sum;     /* of the recorded values, for the mean */
	uint64_t min;
	uint64_t max;
	uint64_t b[HIST_BUCKETS];
};

void hist_reset(struct hist *h);
void hist_record(struct hist *h, uint64_t v);
/* Add every count of src into dst. */
void hist_merge(struct hist *dst, const struct hist *src);
/* The smallest recorded value v such that at least q (0..1] of the values are <= v's
 * bucket, reported as that bucket's highest value (clamped to the max); 0 when empty. */
uint64_t hist_quantile(const struct hist *h, double q);
/* The bucket of v, and the lowest and highest value of a bucket (for the tests). */
unsigned hist_index(uint64_t v);
uint64_t hist_bucket_low(unsigned i);
uint64_t hist_bucket_high(unsigned i);

#endif
