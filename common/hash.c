/*
 * SHA-256, hex, CSPRNG bytes and constant-time comparison over OpenSSL
 * (hash.h). Stateless and thread-safe; never falls back to a weak RNG.
 */
#include <limits.h>
#include <stdlib.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "hash.h"

void kam_sha256(const void *data, size_t len, uint8_t out[KAM_SHA256_LEN])
{
	unsigned int n = KAM_SHA256_LEN;

	/* EVP_Digest only fails on allocation failure inside OpenSSL; there is no sane fallback. */
	if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1)
		abort();
}

void kam_hex_encode(const uint8_t *data, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[data[i] >> 4];
		out[2 * i + 1] = digits[data[i] & 0xf];
	}
	out[2 * len] = '\0';
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int kam_hex_decode(const char *hex, uint8_t *out, size_t out_len)
{
	for (size_t i = 0; i < out_len; i++) {
		/* Checking the high digit first stops at the NUL of a short string. */
		int hi = hex_digit(hex[2 * i]);
		int lo = hi < 0 ? -1 : hex_digit(hex[2 * i + 1]);

		if (lo < 0)
			return KAM_EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return hex[2 * out_len] == '\0' ? 0 : KAM_EINVAL;
}

int kam_random_bytes(uint8_t *out, size_t len)
{
	while (len > 0) {
		int n = len > INT_MAX ? INT_MAX : (int)len;

		if (RAND_bytes(out, n) != 1)
			return KAM_EINTERNAL;
		out += n;
		len -= (size_t)n;
	}
	return 0;
}

int kam_memcmp_ct(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) != 0;
}
