/*
 * The TLS engine end to end in memory: a server and a client tls_conn are
 * pumped into each other (take -> feed) with throwaway certificates made
 * here with OpenSSL's APIs in a temporary folder. No sockets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "hash.h"
#include "test.h"
#include "tls.h"

/* Enough round trips for any TLS 1.3 handshake (it needs two flights each way). */
#define PUMP_ROUNDS 10

static struct {
	char dir[64];
	char cert[128], key[128];               /* the server's self-signed certificate */
	char other_cert[128], other_key[128];   /* an unrelated one: the wrong CA */
	char leaf_cert[128], leaf_key[128];     /* self-signed but CA:FALSE, as some tools make */
	uint8_t fingerprint[KAM_SHA256_LEN];    /* SHA-256 of the server certificate's DER */
	int ready;
} fx;

static int write_pem(const char *path, X509 *cert, EVP_PKEY *key)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (!f)
		return -1;
	ok = cert ? PEM_write_X509(f, cert) : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	return fclose(f) == 0 && ok ? 0 : -1;
}

static int add_ext(X509 *cert, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
	if (!(ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)))
		return -1;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* A self-signed P-256 certificate for localhost and 127.0.0.1, like `openssl req -x509` makes. */
static int make_cert(const char *cert_path, const char *key_path, long serial, int is_ca, uint8_t fp[KAM_SHA256_LEN])
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	X509_NAME *name;
	unsigned char *der = NULL;
	int len, rc = -1;

	if (!(key = EVP_EC_gen("P-256")) || !(cert = X509_new()))
		goto fail;
	X509_set_version(cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
	X509_gmtime_adj(X509_getm_notBefore(cert), -60);
	X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
	X509_set_pubkey(cert, key);
	name = X509_get_subject_name(cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"kam test", -1, -1, 0);
	X509_set_issuer_name(cert, name);
	if (add_ext(cert, NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE") < 0 ||
	    add_ext(cert, NID_subject_key_identifier, "hash") < 0 ||
	    add_ext(cert, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1") < 0)
		goto fail;
	if (!X509_sign(cert, key, EVP_sha256()))
		goto fail;
	if (write_pem(cert_path, cert, NULL) < 0 || write_pem(key_path, NULL, key) < 0)
		goto fail;
	if ((len = i2d_X509(cert, &der)) <= 0)
		goto fail;
	kam_sha256(der, (size_t)len, fp);
	rc = 0;
fail:
	OPENSSL_free(der);
	X509_free(cert);
	EVP_PKEY_free(key);
	return rc;
}

static void cleanup(void)
{
	unlink(fx.cert);
	unlink(fx.key);
	unlink(fx.other_cert);
	unlink(fx.other_key);
	unlink(fx.leaf_cert);
	unlink(fx.leaf_key);
	rmdir(fx.dir);
}

static int setup(void)
{
	uint8_t unused[KAM_SHA256_LEN];

	if (fx.ready)
		return 0;
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/kam-test-tls-XXXXXX");
	if (!mkdtemp(fx.dir))
		return -1;
	snprintf(fx.cert, sizeof(fx.cert), "%s/cert.pem", fx.dir);
	snprintf(fx.key, sizeof(fx.key), "%s/key.pem", fx.dir);
	snprintf(fx.other_cert, sizeof(fx.other_cert), "%s/other.pem", fx.dir);
	snprintf(fx.other_key, sizeof(fx.other_key), "%s/other-key.pem", fx.dir);
	snprintf(fx.leaf_cert, sizeof(fx.leaf_cert), "%s/leaf.pem", fx.dir);
	snprintf(fx.leaf_key, sizeof(fx.leaf_key), "%s/leaf-key.pem", fx.dir);
	atexit(cleanup);
	if (make_cert(fx.cert, fx.key, 1, 1, fx.fingerprint) < 0 ||
	    make_cert(fx.other_cert, fx.other_key, 2, 1, unused) < 0 ||
	    make_cert(fx.leaf_cert, fx.leaf_key, 3, 0, unused) < 0)
		return -1;
	fx.ready = 1;
	return 0;
}

/* Move all ciphertext from one engine to the other; 0 or the feed error. */
static int move(struct tls_conn *from, struct tls_conn *to)
{
	uint8_t buf[1024];   /* smaller than a flight, so take is called repeatedly */
	size_t n;
	int rc;

	while ((n = tls_conn_take(from, buf, sizeof(buf))) > 0)
		if ((rc = tls_conn_feed(to, buf, n)) < 0)
			return rc;
	return 0;
}

/* Drive both handshakes until both finish or one fails; returns the client's and server's results. */
static void pump_handshake(struct tls_conn *c, struct tls_conn *s, int *crc, int *src)
{
	*crc = *src = KAM_EAGAIN;
	for (int i = 0; i < PUMP_ROUNDS; i++) {
		if (*crc == KAM_EAGAIN)
			*crc = tls_conn_handshake(c);
		if (move(c, s) < 0)
			break;
		if (*src == KAM_EAGAIN)
			*src = tls_conn_handshake(s);
		if (move(s, c) < 0)
			break;
		if (*crc != KAM_EAGAIN && *src != KAM_EAGAIN)
			break;
	}
}

struct pair {
	struct tls_ctx *sctx, *cctx;
	struct tls_conn *s, *c;
};

static void pair_free(struct pair *p)
{
	tls_conn_free(p->c);
	tls_conn_free(p->s);
	tls_ctx_free(p->cctx);
	tls_ctx_free(p->sctx);
	memset(p, 0, sizeof(*p));
}

/* Server with the given certificate; client trusting ca (NULL: pinning) and expecting host. */
static int pair_new_with(struct pair *p, const char *cert, const char *key, const char *ca, const char *host)
{
	const char *why = NULL;

	memset(p, 0, sizeof(*p));
	if (setup() < 0 ||
	    tls_ctx_server_new(cert, key, &p->sctx, &why) < 0 ||
	    tls_ctx_client_new(ca, &p->cctx, &why) < 0 ||
	    tls_conn_new(p->sctx, NULL, &p->s) < 0 ||
	    tls_conn_new(p->cctx, host, &p->c) < 0) {
		fprintf(stderr, "  setup failed: %s\n", why ? why : "?");
		pair_free(p);
		return -1;
	}
	return 0;
}

/* Server with the fixture certificate. */
static int pair_new(struct pair *p, const char *ca, const char *host)
{
	return setup() < 0 ? -1 : pair_new_with(p, fx.cert, fx.key, ca, host);
}

/* Read exactly n bytes of plaintext from c. */
static long read_all(struct tls_conn *c, uint8_t *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		long r = tls_conn_read(c, buf + got, n - got);

		if (r < 0)
			return r;
		got += (size_t)r;
	}
	return (long)got;
}

TEST(handshake_data_and_fingerprint)
{
	static uint8_t big[100000], back[100000];
	struct pair p;
	uint8_t fp[32], buf[64];
	int crc, src;

	ASSERT_EQ(pair_new(&p, NULL, "localhost"), 0);
	ASSERT(!tls_conn_handshake_done(p.c));
	ASSERT_EQ(tls_conn_read(p.s, buf, sizeof(buf)), KAM_EAGAIN);
	pump_handshake(p.c, p.s, &crc, &src);
	ASSERT_EQ(crc, 0);
	ASSERT_EQ(src, 0);
	ASSERT(tls_conn_handshake_done(p.c));
	ASSERT(tls_conn_handshake_done(p.s));
	ASSERT_EQ(tls_conn_handshake(p.c), 0);   /* idempotent once done */

	/* The client pins what it saw: SHA-256 of the DER certificate. */
	ASSERT_EQ(tls_conn_peer_fingerprint(p.c, fp), 0);
	ASSERT_MEM_EQ(fp, fx.fingerprint, 32);
	ASSERT_EQ(tls_conn_peer_fingerprint(p.s, fp), KAM_ENOTFOUND);

	/* Client -> server, nothing buffered until fed. */
	ASSERT_EQ(tls_conn_read(p.s, buf, sizeof(buf)), KAM_EAGAIN);
	ASSERT_EQ(tls_conn_write(p.c, (const uint8_t *)"hello", 5), 0);
	ASSERT(tls_conn_pending(p.c) > 5);
	ASSERT_EQ(move(p.c, p.s), 0);
	ASSERT_EQ(tls_conn_pending(p.c), 0);
	ASSERT_EQ(read_all(p.s, buf, 5), 5);
	ASSERT_MEM_EQ(buf, "hello", 5);
	ASSERT_EQ(tls_conn_read(p.s, buf, sizeof(buf)), KAM_EAGAIN);

	/* Server -> client, more than one TLS record. */
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	ASSERT_EQ(tls_conn_write(p.s, big, sizeof(big)), 0);
	ASSERT_EQ(move(p.s, p.c), 0);
	ASSERT_EQ(read_all(p.c, back, sizeof(back)), (long)sizeof(back));
	ASSERT_MEM_EQ(big, back, sizeof(big));

	/* close_notify reaches the server as KAM_ECLOSED; no more writes after shutdown. */
	tls_conn_shutdown(p.c);
	tls_conn_shutdown(p.c);
	ASSERT_EQ(move(p.c, p.s), 0);
	ASSERT_EQ(tls_conn_read(p.s, buf, sizeof(buf)), KAM_ECLOSED);
	ASSERT_EQ(tls_conn_write(p.c, (const uint8_t *)"x", 1), KAM_ETLS);
	pair_free(&p);
}

TEST(read_finishes_the_handshake)
{
	struct pair p;
	uint8_t buf[8];
	int crc = KAM_EAGAIN;

	/* The server only ever reads, as a transport that treats everything as data would. */
	ASSERT_EQ(pair_new(&p, NULL, "localhost"), 0);
	for (int i = 0; i < PUMP_ROUNDS && crc == KAM_EAGAIN; i++) {
		crc = tls_conn_handshake(p.c);
		ASSERT_EQ(move(p.c, p.s), 0);
		ASSERT_EQ(tls_conn_read(p.s, buf, sizeof(buf)), KAM_EAGAIN);
		ASSERT_EQ(move(p.s, p.c), 0);
	}
	ASSERT_EQ(crc, 0);
	ASSERT_EQ(tls_conn_write(p.c, (const uint8_t *)"ping", 4), 0);
	ASSERT_EQ(move(p.c, p.s), 0);
	ASSERT_EQ(read_all(p.s, buf, 4), 4);
	ASSERT(tls_conn_handshake_done(p.s));
	ASSERT_EQ(tls_conn_handshake(p.s), 0);
	ASSERT_EQ(tls_conn_write(p.s, (const uint8_t *)"pong", 4), 0);
	ASSERT_EQ(move(p.s, p.c), 0);
	ASSERT_EQ(read_all(p.c, buf, 4), 4);
	ASSERT_MEM_EQ(buf, "pong", 4);
	pair_free(&p);
}

TEST(verify_with_ca_by_name_and_ip)
{
	static const char *const hosts[] = { "localhost", "127.0.0.1" };

	ASSERT_EQ(setup(), 0);
	for (size_t i = 0; i < 2; i++) {
		struct pair p;
		int crc, src;

		/* The self-signed certificate is its own CA. */
		ASSERT_EQ(pair_new(&p, fx.cert, hosts[i]), 0);
		pump_handshake(p.c, p.s, &crc, &src);
		if (crc != 0)
			fprintf(stderr, "  %s: %s\n", hosts[i], tls_conn_error(p.c));
		ASSERT_EQ(crc, 0);
		ASSERT_EQ(src, 0);
		pair_free(&p);
	}
}

TEST(verify_with_non_ca_self_signed)
{
	struct pair p;
	int crc, src;

	ASSERT_EQ(setup(), 0);
	ASSERT_EQ(pair_new_with(&p, fx.leaf_cert, fx.leaf_key, fx.leaf_cert, "localhost"), 0);
	pump_handshake(p.c, p.s, &crc, &src);
	if (crc != 0)
		fprintf(stderr, "  %s\n", tls_conn_error(p.c));
	ASSERT_EQ(crc, 0);
	ASSERT_EQ(src, 0);
	pair_free(&p);
}

/* The client must refuse; the server sees the client's alert and fails too. */
static void expect_refused(const char *ca, const char *host, const char *want)
{
	struct pair p;
	int crc, src;

	ASSERT_EQ(pair_new(&p, ca, host), 0);
	pump_handshake(p.c, p.s, &crc, &src);
	ASSERT_EQ(crc, KAM_ETLS);
	ASSERT(!tls_conn_handshake_done(p.c));
	if (!strstr(tls_conn_error(p.c), want)) {
		fprintf(stderr, "  error \"%s\" lacks \"%s\"\n", tls_conn_error(p.c), want);
		ASSERT(0);
	}
	ASSERT_EQ(src, KAM_ETLS);
	fprintf(stderr, "  (client said: %s; server said: %s)\n", tls_conn_error(p.c), tls_conn_error(p.s));
	pair_free(&p);
}

TEST(wrong_ca_fails)
{
	ASSERT_EQ(setup(), 0);
	expect_refused(fx.other_cert, "localhost", "certificate verify failed");
}

TEST(wrong_host_fails)
{
	ASSERT_EQ(setup(), 0);
	expect_refused(fx.cert, "evil.example", "certificate verify failed");
	expect_refused(fx.cert, "10.0.0.1", "certificate verify failed");
}

TEST(verify_needs_a_host)
{
	struct tls_ctx *ctx = NULL;
	struct tls_conn *c = NULL;

	ASSERT_EQ(setup(), 0);
	ASSERT_EQ(tls_ctx_client_new(fx.cert, &ctx, NULL), 0);
	ASSERT_EQ(tls_conn_new(ctx, NULL, &c), KAM_EINVAL);
	ASSERT(c == NULL);
	ASSERT_EQ(tls_conn_new(ctx, "", &c), KAM_EINVAL);
	tls_ctx_free(ctx);
}

TEST(context_errors)
{
	struct tls_ctx *ctx = NULL;
	const char *why = NULL;

	ASSERT_EQ(setup(), 0);
	ASSERT_EQ(tls_ctx_server_new("/nonexistent/cert.pem", fx.key, &ctx, &why), KAM_ETLS);
	ASSERT(ctx == NULL);
	ASSERT(why && strstr(why, "/nonexistent/cert.pem"));
	ASSERT_EQ(tls_ctx_server_new(fx.cert, "/nonexistent/key.pem", &ctx, &why), KAM_ETLS);
	ASSERT(why && strstr(why, "private key"));
	ASSERT_EQ(tls_ctx_server_new(fx.cert, fx.other_key, &ctx, &why), KAM_ETLS);
	ASSERT(why && strstr(why, "mismatch"));
	fprintf(stderr, "  (mismatch: %s)\n", why);
	ASSERT_EQ(tls_ctx_client_new("/nonexistent/ca.pem", &ctx, &why), KAM_ETLS);
	ASSERT(why && strstr(why, "CA file"));
	/* A key file is not a CA file. */
	ASSERT_EQ(tls_ctx_client_new(fx.key, &ctx, &why), KAM_ETLS);
	tls_ctx_free(NULL);
	tls_conn_free(NULL);
}

TEST(garbage_and_early_writes)
{
	static const uint8_t http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct pair p;
	uint8_t buf[16];

	ASSERT_EQ(pair_new(&p, NULL, "localhost"), 0);
	ASSERT_EQ(tls_conn_write(p.c, (const uint8_t *)"x", 1), KAM_ETLS);
	ASSERT_STR_EQ(tls_conn_error(p.c), "handshake not complete");
	ASSERT_EQ(tls_conn_feed(p.s, http, sizeof(http) - 1), 0);
	ASSERT_EQ(tls_conn_handshake(p.s), KAM_ETLS);
	ASSERT(strstr(tls_conn_error(p.s), "handshake failed: ") == tls_conn_error(p.s));
	fprintf(stderr, "  (server said: %s)\n", tls_conn_error(p.s));
	ASSERT_EQ(tls_conn_read(p.s, buf, sizeof(buf)), KAM_ETLS);
	pair_free(&p);
}

TEST_MAIN(TEST_ENTRY(handshake_data_and_fingerprint), TEST_ENTRY(read_finishes_the_handshake), TEST_ENTRY(verify_with_ca_by_name_and_ip),
	  TEST_ENTRY(verify_with_non_ca_self_signed),
	  TEST_ENTRY(wrong_ca_fails), TEST_ENTRY(wrong_host_fails), TEST_ENTRY(verify_needs_a_host),
	  TEST_ENTRY(context_errors), TEST_ENTRY(garbage_and_early_writes))
