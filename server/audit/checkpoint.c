/*
 * Signed checkpoints of the audit chain heads: the Ed25519 key (OpenSSL),
 * the checkpoint text and its signature, parsing and checking a checkpoint,
 * and atomic file replacement. Blocking file I/O: callers run it at start-up,
 * on a worker thread, or at shutdown, never on the loop while it serves.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "audit/checkpoint.h"

#define CP_MAGIC "kam-audit-checkpoint 1\n"
#define ED25519_PUB_LEN 32
#define ED25519_SIG_LEN 64
/* The longest line: "sig " and 128 hex digits. */
#define CP_LINE_MAX 192
#define PATH_TMP_MAX 4096

struct audit_key {
	EVP_PKEY *pkey;
	uint8_t pub[ED25519_PUB_LEN];
	char fp[AUDIT_KEY_FP_MAX];
};

static int say(char *why, size_t why_len, int err, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int say(char *why, size_t why_len, int err, const char *fmt, ...)
{
	va_list ap;

	if (why && why_len) {
		va_start(ap, fmt);
		vsnprintf(why, why_len, fmt, ap);
		va_end(ap);
	}
	return err;
}

static void fingerprint(const uint8_t pub[ED25519_PUB_LEN], char out[AUDIT_KEY_FP_MAX])
{
	uint8_t h[KAM_SHA256_LEN];

	kam_sha256(pub, ED25519_PUB_LEN, h);
	memcpy(out, "SHA256:", 7);
	kam_hex_encode(h, sizeof(h), out + 7);
}

void audit_key_free(struct audit_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

const char *audit_key_fingerprint(const struct audit_key *k)
{
	return k ? k->fp : "";
}

static EVP_PKEY *key_generate(void)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	EVP_PKEY *pkey = NULL;

	if (ctx && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_keygen(ctx, &pkey) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

/* A new key in a new file: O_EXCL, so two daemons starting at once cannot both write one. */
static int key_create(const char *path, EVP_PKEY **out, char *why, size_t why_len)
{
	EVP_PKEY *pkey = key_generate();
	FILE *f = NULL;
	int fd, err = 0;

	if (!pkey)
		return say(why, why_len, KAM_EINTERNAL, "cannot generate an Ed25519 key");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = say(why, why_len, -errno, "cannot create %s: %s", path, strerror(errno));
		goto fail;
	}
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		err = say(why, why_len, -errno, "cannot write %s: %s", path, strerror(errno));
		goto fail;
	}
	if (PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) != 1 || fflush(f) != 0 || fsync(fileno(f)) != 0)
		err = say(why, why_len, KAM_EINTERNAL, "cannot write the key to %s", path);
	if (fclose(f) != 0 && !err)
		err = say(why, why_len, -errno, "cannot write %s: %s", path, strerror(errno));
	if (err) {
		unlink(path);
		goto fail;
	}
	*out = pkey;
	return 0;
fail:
	EVP_PKEY_free(pkey);
	return err;
}

static int key_read(const char *path, FILE *f, EVP_PKEY **out, char *why, size_t why_len)
{
	struct stat st;
	EVP_PKEY *pkey;

	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
		return say(why, why_len, KAM_EINVAL, "%s is readable by others (mode %03o); chmod 600 it",
			   path, (unsigned)(st.st_mode & 0777));
	pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	if (!pkey)
		return say(why, why_len, KAM_EINVAL, "%s is not a PEM private key", path);
	if (EVP_PKEY_id(pkey) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(pkey);
		return say(why, why_len, KAM_EINVAL, "%s is not an Ed25519 key", path);
	}
	*out = pkey;
	return 0;
}

int audit_key_load_or_create(const char *path, struct audit_key **out, char *why, size_t why_len)
{
	struct audit_key *k = calloc(1, sizeof(*k));
	size_t publen = ED25519_PUB_LEN;
	FILE *f;
	int err;

	if (!k)
		return say(why, why_len, KAM_ENOMEM, "out of memory");
	f = fopen(path, "re");
	if (f) {
		err = key_read(path, f, &k->pkey, why, why_len);
		fclose(f);
	} else if (errno == ENOENT) {
		err = key_create(path, &k->pkey, why, why_len);
	} else {
		err = say(why, why_len, -errno, "cannot read %s: %s", path, strerror(errno));
	}
	if (!err && (EVP_PKEY_get_raw_public_key(k->pkey, k->pub, &publen) != 1 || publen != ED25519_PUB_LEN))
		err = say(why, why_len, KAM_EINTERNAL, "cannot read the public half of %s", path);
	if (err) {
		audit_key_free(k);
		return err;
	}
	fingerprint(k->pub, k->fp);
	*out = k;
	return 0;
}

/* ---- the checkpoint text ---- */

static int append_line(struct kam_buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int append_line(struct kam_buf *out, const char *fmt, ...)
{
	char line[CP_LINE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return KAM_EINTERNAL;
	return kam_buf_append(out, line, (size_t)n);
}

int audit_checkpoint_sign(const struct audit_key *k, int64_t at, const struct audit_head heads[AUDIT_PARTS],
			  struct kam_buf *out)
{
	char hex[2 * ED25519_SIG_LEN + 1];
	uint8_t sig[ED25519_SIG_LEN];
	size_t siglen = sizeof(sig), start = out->len;
	EVP_MD_CTX *ctx = NULL;
	int64_t entries = 0;
	int rc;

	for (int p = 0; p < AUDIT_PARTS; p++)
		entries += heads[p].seq;
	rc = kam_buf_append(out, CP_MAGIC, sizeof(CP_MAGIC) - 1);
	if (!rc)
		rc = append_line(out, "at %" PRId64 "\nentries %" PRId64 "\n", at, entries);
	for (int p = 0; !rc && p < AUDIT_PARTS; p++) {
		kam_hex_encode(heads[p].hash, KAM_SHA256_LEN, hex);
		rc = append_line(out, "head %d %" PRId64 " %s\n", p, heads[p].seq, hex);
	}
	kam_hex_encode(k->pub, ED25519_PUB_LEN, hex);
	if (!rc)
		rc = append_line(out, "key %s\n", hex);
	if (rc)
		return rc;
	ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, out->data + start, out->len - start) != 1 || siglen != sizeof(sig))
		rc = KAM_EINTERNAL;
	EVP_MD_CTX_free(ctx);
	if (rc)
		return rc;
	kam_hex_encode(sig, sizeof(sig), hex);
	return append_line(out, "sig %s\n", hex);
}

/* Parsing: one line at a time from a cursor. */
struct cursor {
	const char *p, *end;
	char line[CP_LINE_MAX];
};

static bool next_line(struct cursor *c)
{
	const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
	size_t n;

	if (!nl || (size_t)(nl - c->p) >= sizeof(c->line))
		return false;
	n = (size_t)(nl - c->p);
	memcpy(c->line, c->p, n);
	c->line[n] = '\0';
	c->p = nl + 1;
	return strlen(c->line) == n;   /* no NUL inside */
}

static bool parse_hex_field(const char *s, uint8_t *out, size_t n)
{
	return strlen(s) == 2 * n && kam_hex_decode(s, out, n) == 0;
}

static int parse_body(struct cursor *c, struct audit_checkpoint *cp, uint8_t pub[ED25519_PUB_LEN])
{
	char hex[2 * ED25519_PUB_LEN + 2];
	int64_t entries;
	int n;

	if (!next_line(c) || strcmp(c->line, "kam-audit-checkpoint 1") != 0)
		return KAM_EINVAL;
	if (!next_line(c) || sscanf(c->line, "at %" SCNd64 "%n", &cp->at, &n) != 1 || c->line[n])
		return KAM_EINVAL;
	if (!next_line(c) || sscanf(c->line, "entries %" SCNd64 "%n", &entries, &n) != 1 || c->line[n])
		return KAM_EINVAL;
	for (int p = 0; p < AUDIT_PARTS; p++) {
		int part;

		if (!next_line(c) || sscanf(c->line, "head %d %" SCNd64 " %65s%n", &part, &cp->heads[p].seq, hex, &n) != 3 ||
		    c->line[n] || part != p || cp->heads[p].seq < 0 ||
		    !parse_hex_field(hex, cp->heads[p].hash, KAM_SHA256_LEN))
			return KAM_EINVAL;
		cp->entries += cp->heads[p].seq;
	}
	if (cp->entries != entries)
		return KAM_EINVAL;
	if (!next_line(c) || sscanf(c->line, "key %65s%n", hex, &n) != 1 || c->line[n] ||
	    !parse_hex_field(hex, pub, ED25519_PUB_LEN))
		return KAM_EINVAL;
	return 0;
}

int audit_checkpoint_parse(const char *text, size_t len, const struct audit_key *k, struct audit_checkpoint *out,
			   char *why, size_t why_len)
{
	struct cursor c = { .p = text, .end = text + len };
	uint8_t pub[ED25519_PUB_LEN], sig[ED25519_SIG_LEN];
	char sighex[2 * ED25519_SIG_LEN + 2];
	EVP_MD_CTX *ctx = NULL;
	size_t signed_len;
	int n, ok;

	memset(out, 0, sizeof(*out));
	if (!text || parse_body(&c, out, pub) != 0)
		return say(why, why_len, KAM_EINVAL, "not a KAM audit checkpoint (or a damaged one)");
	signed_len = (size_t)(c.p - text);
	if (!next_line(&c) || sscanf(c.line, "sig %129s%n", sighex, &n) != 1 || c.line[n] ||
	    !parse_hex_field(sighex, sig, sizeof(sig)) || c.p != c.end)
		return say(why, why_len, KAM_EINVAL, "the checkpoint's signature line is missing or damaged");
	fingerprint(pub, out->key_fp);
	if (memcmp(pub, k->pub, ED25519_PUB_LEN) != 0)
		return say(why, why_len, KAM_EINVAL, "the checkpoint was signed by key %s, not by this kamd's key %s",
			   out->key_fp, k->fp);
	ctx = EVP_MD_CTX_new();
	ok = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
	     EVP_DigestVerify(ctx, sig, sizeof(sig), (const unsigned char *)text, signed_len) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return say(why, why_len, KAM_EINVAL, "the checkpoint's signature does not verify: it was altered");
	return 0;
}

/* ---- files ---- */

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* fsync the directory holding path, so the rename survives a crash. */
static void sync_dir(const char *path)
{
	char copy[PATH_TMP_MAX];
	int fd;

	snprintf(copy, sizeof(copy), "%s", path);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

int audit_file_replace(const char *path, const void *data, size_t len)
{
	static atomic_uint counter;
	char tmp[PATH_TMP_MAX];
	int fd, err;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%ld.%u.tmp", path, (long)getpid(), atomic_fetch_add(&counter, 1)) >=
	    sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	err = write_all(fd, data, len);
	if (!err && fsync(fd) != 0)
		err = -errno;
	if (close(fd) != 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) != 0)
		err = -errno;
	if (err)
		unlink(tmp);
	else
		sync_dir(path);
	return err;
}

int audit_file_read(const char *path, size_t max, struct kam_buf *out)
{
	uint8_t chunk[1024];
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		if (out->len + (size_t)n > max) {
			err = KAM_E2BIG;
			break;
		}
		if ((err = kam_buf_append(out, chunk, (size_t)n)) != 0)
			break;
	}
	close(fd);
	return err;
}
