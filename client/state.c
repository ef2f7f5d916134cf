/*
 * The client's state on disk: $XDG_CONFIG_HOME/kam/ (0700) with "sessions"
 * (HOST:PORT hex-token) and "known_servers" (HOST:PORT SHA256:hex), each 0600
 * and replaced atomically (write a temporary file, then rename). Nothing
 * about accounts is ever written here. No printing: callers report.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"

/* Thousands of servers fit; a bigger file is not one we wrote. */
#define STATE_FILE_MAX (1u << 20)

/* ---- endpoint ---- */

static bool host_char_ok(char ch)
{
	/* Names, IPv4 and IPv6 literals (with a %zone); no space, quote or slash. */
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_' ||
	       ch == ':' || ch == '%';
}

int endpoint_parse(const char *s, struct endpoint *ep)
{
	const char *host = s, *port = NULL;
	size_t host_len;
	bool v6 = false;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end)
			return KAM_EINVAL;
		host = s + 1;
		host_len = (size_t)(end - host);
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return KAM_EINVAL;
		v6 = true;
	} else {
		const char *colon = strrchr(s, ':');
		/* Two colons without brackets: a bare IPv6 address, no port. */
		if (colon && strchr(s, ':') == colon) {
			host_len = (size_t)(colon - s);
			port = colon + 1;
		} else {
			host_len = strlen(s);
			v6 = colon != NULL;
		}
	}
	if (host_len == 0 || host_len >= sizeof(ep->host))
		return KAM_EINVAL;
	for (size_t i = 0; i < host_len; i++)
		if (!host_char_ok(host[i]) || (host[i] == ':' && !v6))
			return KAM_EINVAL;
	if (!port)
		port = KAM_DEFAULT_PORT;
	size_t port_len = strlen(port);
	if (port_len == 0 || port_len >= sizeof(ep->port) || strspn(port, "0123456789") != port_len)
		return KAM_EINVAL;
	long p = strtol(port, NULL, 10);
	if (p < 1 || p > 65535)
		return KAM_EINVAL;

	memcpy(ep->host, host, host_len);
	ep->host[host_len] = '\0';
	snprintf(ep->port, sizeof(ep->port), "%ld", p);
	snprintf(ep->key, sizeof(ep->key), v6 ? "[%s]:%s" : "%s:%s", ep->host, ep->port);
	return 0;
}

/* ---- the "KEY VALUE" line format ---- */

/* The line starting at text[off]: its length without the newline, and where the next one starts. */
static size_t line_at(const char *text, size_t len, size_t off, size_t *next)
{
	const char *nl = memchr(text + off, '\n', len - off);
	size_t end = nl ? (size_t)(nl - text) : len;
	*next = nl ? end + 1 : len;
	return end - off;
}

/* Does this line belong to key? Then *val points after the separating blanks. */
static bool line_is_key(const char *line, size_t n, const char *key, const char **val)
{
	size_t klen = strlen(key);

	if (n > 0 && line[0] == '#')   /* comments are nobody's entry */
		return false;
	if (n <= klen || memcmp(line, key, klen) != 0 || (line[klen] != ' ' && line[klen] != '\t'))
		return false;
	size_t i = klen;
	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	*val = line + i;
	return true;
}

int state_lines_find(const char *text, size_t len, const char *key, const char **val, size_t *val_len)
{
	for (size_t off = 0, next; off < len; off = next) {
		size_t n = line_at(text, len, off, &next);
		const char *line = text + off, *v;
		if (!line_is_key(line, n, key, &v))
			continue;
		size_t vn = n - (size_t)(v - line);
		/* Tolerate a file edited on Windows and trailing blanks. */
		while (vn > 0 && (v[vn - 1] == '\r' || v[vn - 1] == ' ' || v[vn - 1] == '\t'))
			vn--;
		*val = v;
		*val_len = vn;
		return 0;
	}
	return KAM_ENOTFOUND;
}

static int put_line(struct kam_buf *out, const char *key, const char *val)
{
	int r;

	if ((r = kam_buf_append(out, key, strlen(key))) < 0 ||
	    (r = kam_buf_append(out, " ", 1)) < 0 ||
	    (r = kam_buf_append(out, val, strlen(val))) < 0 ||
	    (r = kam_buf_append(out, "\n", 1)) < 0)
		return r;
	return 0;
}

int state_lines_set(const char *text, size_t len, const char *key, const char *val, struct kam_buf *out)
{
	bool done = val == NULL;
	int r;

	for (size_t off = 0, next; off < len; off = next) {
		size_t n = line_at(text, len, off, &next);
		const char *line = text + off, *v;
		if (line_is_key(line, n, key, &v)) {
			if (!done && (r = put_line(out, key, val)) < 0)
				return r;
			done = true;
			continue;
		}
		/* Keep every other line (comments too), always newline-terminated. */
		if ((r = kam_buf_append(out, line, n)) < 0 || (r = kam_buf_append(out, "\n", 1)) < 0)
			return r;
	}
	if (!done && (r = put_line(out, key, val)) < 0)
		return r;
	return 0;
}

void state_fp_format(const uint8_t fp[KAM_SHA256_LEN], char out[STATE_FP_STR])
{
	size_t plen = sizeof(STATE_FP_PREFIX) - 1;

	memcpy(out, STATE_FP_PREFIX, plen);
	kam_hex_encode(fp, KAM_SHA256_LEN, out + plen);
}

/* Exactly 2*n hex digits in s[0..len) into out. */
static int hex_exact(const char *s, size_t len, uint8_t *out, size_t n)
{
	char tmp[2 * KAM_SHA256_LEN + 1];

	if (len != 2 * n || len >= sizeof(tmp))
		return KAM_EINVAL;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return kam_hex_decode(tmp, out, n);
}

int state_fp_parse(const char *s, size_t len, uint8_t fp[KAM_SHA256_LEN])
{
	size_t plen = sizeof(STATE_FP_PREFIX) - 1;

	if (len < plen || memcmp(s, STATE_FP_PREFIX, plen) != 0)
		return KAM_EINVAL;
	return hex_exact(s + plen, len - plen, fp, KAM_SHA256_LEN);
}

/* ---- files ---- */

int state_path(const char *name, char *out, size_t cap)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	int n;

	/* The XDG spec says a relative XDG_CONFIG_HOME is to be ignored. */
	if (xdg && xdg[0] == '/')
		n = snprintf(out, cap, "%s/kam%s%s", xdg, name ? "/" : "", name ? name : "");
	else if (home && home[0] != '\0')
		n = snprintf(out, cap, "%s/.config/kam%s%s", home, name ? "/" : "", name ? name : "");
	else
		return KAM_EINVAL;
	if (n < 0 || (size_t)n >= cap)
		return KAM_E2BIG;
	return 0;
}

const char *state_path_shown(const char *name, char *buf, size_t cap)
{
	if (state_path(name, buf, cap) < 0)
		snprintf(buf, cap, "%s", name);
	return buf;
}

/* mkdir -p, creating what is missing with mode 0700 whatever the umask. */
static int state_mkdirs(char *path)
{
	struct stat st;

	if (stat(path, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
	if (errno != ENOENT)
		return -errno;
	char *slash = strrchr(path, '/');
	if (slash && slash != path) {
		*slash = '\0';
		int r = state_mkdirs(path);
		*slash = '/';
		if (r < 0)
			return r;
	}
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (chmod(path, 0700) < 0)
		return -errno;
	return 0;
}

/* The whole file into out; a missing file reads as empty. */
static int state_read(const char *name, struct kam_buf *out)
{
	char path[STATE_PATH_MAX];
	uint8_t chunk[4096];
	int fd = -1, r;

	if ((r = state_path(name, path, sizeof(path))) < 0)
		return r;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto fail;
		}
		if (n == 0)
			break;
		if (out->len + (size_t)n > STATE_FILE_MAX) {
			r = KAM_E2BIG;
			goto fail;
		}
		if ((r = kam_buf_append(out, chunk, (size_t)n)) < 0)
			goto fail;
	}
	close(fd);
	return 0;
fail:
	close(fd);
	return r;
}

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

/* Replace the file with data: a 0600 temporary file beside it, then rename. */
static int state_write(const char *name, const uint8_t *data, size_t len)
{
	char path[STATE_PATH_MAX], tmp[STATE_PATH_MAX + 32];
	int fd = -1, r;

	if ((r = state_path(NULL, path, sizeof(path))) < 0 || (r = state_mkdirs(path)) < 0)
		return r;
	if ((r = state_path(name, path, sizeof(path))) < 0)
		return r;
	/* Per process, so two kam runs never share a temporary file. */
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	for (int attempt = 0; fd < 0; attempt++) {
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		/* A leftover from a crashed run with our pid: remove it once and retry. */
		if (fd < 0 && (errno != EEXIST || attempt > 0 || unlink(tmp) < 0))
			return -errno;
	}
	if (fchmod(fd, 0600) < 0 || (r = write_all(fd, data, len)) < 0 || fsync(fd) < 0) {
		r = r < 0 ? r : -errno;
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		r = -errno;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		r = -errno;
		goto fail;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return r;
}

/* Read name, find key: its value into val (NUL-terminated) or KAM_ENOTFOUND. */
static int state_get(const char *name, const char *key, char *val, size_t cap)
{
	struct kam_buf buf;
	const char *v;
	size_t n;
	int r;

	kam_buf_init(&buf);
	if ((r = state_read(name, &buf)) < 0)
		goto out;
	if ((r = state_lines_find((const char *)buf.data, buf.len, key, &v, &n)) < 0)
		goto out;
	if (n >= cap) {
		r = KAM_EPROTO;
		goto out;
	}
	memcpy(val, v, n);
	val[n] = '\0';
out:
	cli_wipe(buf.data, buf.cap);   /* sessions hold secrets */
	kam_buf_free(&buf);
	return r;
}

/* Read name, set or remove key's line, write it back. */
static int state_set(const char *name, const char *key, const char *val)
{
	struct kam_buf in, out;
	int r;

	kam_buf_init(&in);
	kam_buf_init(&out);
	if ((r = state_read(name, &in)) < 0)
		goto out;
	if ((r = state_lines_set((const char *)in.data, in.len, key, val, &out)) < 0)
		goto out;
	r = state_write(name, out.data, out.len);
out:
	cli_wipe(in.data, in.cap);
	cli_wipe(out.data, out.cap);
	kam_buf_free(&in);
	kam_buf_free(&out);
	return r;
}

int state_token_get(const char *key, uint8_t token[KAM_TOKEN_LEN])
{
	char hex[2 * KAM_TOKEN_LEN + 2];
	int r = state_get(STATE_SESSIONS, key, hex, sizeof(hex));

	if (r == 0 && hex_exact(hex, strlen(hex), token, KAM_TOKEN_LEN) < 0)
		r = KAM_ENOTFOUND;   /* a damaged line is no session */
	if (r == KAM_EPROTO)
		r = KAM_ENOTFOUND;
	cli_wipe(hex, sizeof(hex));
	return r;
}

int state_token_put(const char *key, const uint8_t token[KAM_TOKEN_LEN])
{
	char hex[2 * KAM_TOKEN_LEN + 1];
	int r;

	kam_hex_encode(token, KAM_TOKEN_LEN, hex);
	r = state_set(STATE_SESSIONS, key, hex);
	cli_wipe(hex, sizeof(hex));
	return r;
}

int state_token_forget(const char *key)
{
	return state_set(STATE_SESSIONS, key, NULL);
}

int state_pin_get(const char *key, uint8_t fp[KAM_SHA256_LEN])
{
	char s[STATE_FP_STR + 1];
	int r = state_get(STATE_KNOWN_SERVERS, key, s, sizeof(s));

	if (r < 0)
		return r;
	return state_fp_parse(s, strlen(s), fp) < 0 ? KAM_EPROTO : 0;
}

int state_pin_put(const char *key, const uint8_t fp[KAM_SHA256_LEN])
{
	char s[STATE_FP_STR];

	state_fp_format(fp, s);
	return state_set(STATE_KNOWN_SERVERS, key, s);
}
