/*
 * Unit tests for the client's state (client/state.c): server addresses and
 * their keys, the "KEY VALUE" line format of sessions and known_servers,
 * fingerprints, and the files themselves (modes 0700/0600, atomic update,
 * no leftovers) in a throwaway XDG_CONFIG_HOME. No network, no terminal.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * The unit under test is compiled into this file, so the generic unit-test
 * rule (one executable per test_*.c, linked with the libraries) builds it
 * without a client library; state.c has no dependencies beyond kamcommon.
 */
#include "client.h"
#include "test.h"

/* ---- endpoints ---- */

TEST(endpoint_host_port)
{
	struct endpoint ep;

	ASSERT_EQ(endpoint_parse("127.0.0.1:7433", &ep), 0);
	ASSERT_STR_EQ(ep.host, "127.0.0.1");
	ASSERT_STR_EQ(ep.port, "7433");
	ASSERT_STR_EQ(ep.key, "127.0.0.1:7433");
	ASSERT_EQ(endpoint_parse("kam.example.com:443", &ep), 0);
	ASSERT_STR_EQ(ep.key, "kam.example.com:443");
}

TEST(endpoint_default_port)
{
	struct endpoint ep;

	ASSERT_EQ(endpoint_parse("localhost", &ep), 0);
	ASSERT_STR_EQ(ep.host, "localhost");
	ASSERT_STR_EQ(ep.key, "localhost:" KAM_DEFAULT_PORT);
}

TEST(endpoint_ipv6)
{
	struct endpoint ep;

	ASSERT_EQ(endpoint_parse("[::1]:7000", &ep), 0);
	ASSERT_STR_EQ(ep.host, "::1");
	ASSERT_STR_EQ(ep.port, "7000");
	ASSERT_STR_EQ(ep.key, "[::1]:7000");
	ASSERT_EQ(endpoint_parse("::1", &ep), 0);   /* bare address: default port */
	ASSERT_STR_EQ(ep.key, "[::1]:" KAM_DEFAULT_PORT);
	ASSERT_EQ(endpoint_parse("[fe80::1%eth0]", &ep), 0);
	ASSERT_STR_EQ(ep.host, "fe80::1%eth0");
}

TEST(endpoint_leading_zeros_normalised)
{
	struct endpoint ep;

	/* One server, one key: "host:07433" must not pin separately from "host:7433". */
	ASSERT_EQ(endpoint_parse("host:07433", &ep), 0);
	ASSERT_STR_EQ(ep.key, "host:7433");
}

TEST(endpoint_rejects)
{
	static const char *const bad[] = {
		"", ":7433", "host:", "host:0", "host:65536", "host:12a", "host:-1", "host:+1",
		"bad host:1", "host\n:1", "[::1", "[::1]x", "[::1]:", "[]:1", "a/b:1", "a\"b:1",
	};
	struct endpoint ep;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (endpoint_parse(bad[i], &ep) != KAM_EINVAL)
			TEST_FAIL_("endpoint_parse(\"%s\") accepted", bad[i]);
}

TEST(endpoint_too_long)
{
	char host[ENDPOINT_HOST_MAX + 10];
	struct endpoint ep;

	memset(host, 'a', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	ASSERT_EQ(endpoint_parse(host, &ep), KAM_EINVAL);
}

/* ---- the line format ---- */

static const char lines[] =
	"# pinned by kam\n"
	"host:74330 SHA256:aaaa\n"
	"host:7433   SHA256:bbbb  \r\n"
	"other:1 x\n"
	"last:2 tail";

TEST(lines_find)
{
	const char *v;
	size_t n;

	ASSERT_EQ(state_lines_find(lines, strlen(lines), "host:7433", &v, &n), 0);
	ASSERT_EQ(n, strlen("SHA256:bbbb"));
	ASSERT_MEM_EQ(v, "SHA256:bbbb", n);
	ASSERT_EQ(state_lines_find(lines, strlen(lines), "host:74330", &v, &n), 0);
	ASSERT_MEM_EQ(v, "SHA256:aaaa", n);
	/* The last line has no newline. */
	ASSERT_EQ(state_lines_find(lines, strlen(lines), "last:2", &v, &n), 0);
	ASSERT_EQ(n, 4);
	ASSERT_MEM_EQ(v, "tail", n);
}

TEST(lines_find_missing)
{
	const char *v;
	size_t n;

	ASSERT_EQ(state_lines_find(lines, strlen(lines), "host:743", &v, &n), KAM_ENOTFOUND);
	ASSERT_EQ(state_lines_find(lines, strlen(lines), "#", &v, &n), KAM_ENOTFOUND);
	ASSERT_EQ(state_lines_find("", 0, "host:7433", &v, &n), KAM_ENOTFOUND);
	/* A key without a value is no entry. */
	ASSERT_EQ(state_lines_find("host:7433\n", 10, "host:7433", &v, &n), KAM_ENOTFOUND);
}

/* Run state_lines_set and compare the whole output. */
static int set_is(const char *in, const char *key, const char *val, const char *want)
{
	struct kam_buf out;
	int ok;

	kam_buf_init(&out);
	ok = state_lines_set(in, strlen(in), key, val, &out) == 0 && out.len == strlen(want) &&
	     (out.len == 0 || memcmp(out.data, want, out.len) == 0);
	if (!ok)
		fprintf(stderr, "  got \"%.*s\"\n  want \"%s\"\n", (int)out.len, out.data ? (char *)out.data : "",
			want);
	kam_buf_free(&out);
	return ok;
}

TEST(lines_set_replaces_in_place)
{
	ASSERT(set_is("# c\na:1 x\nb:2 y\n", "a:1", "z", "# c\na:1 z\nb:2 y\n"));
}

TEST(lines_set_appends)
{
	ASSERT(set_is("a:1 x\n", "b:2", "y", "a:1 x\nb:2 y\n"));
	ASSERT(set_is("", "b:2", "y", "b:2 y\n"));
	/* A last line without newline gets one before the new entry. */
	ASSERT(set_is("a:1 x", "b:2", "y", "a:1 x\nb:2 y\n"));
}

TEST(lines_set_removes)
{
	ASSERT(set_is("a:1 x\nb:2 y\n", "a:1", NULL, "b:2 y\n"));
	ASSERT(set_is("a:1 x\n", "a:1", NULL, ""));
	ASSERT(set_is("b:2 y\n", "a:1", NULL, "b:2 y\n"));
}

TEST(lines_set_drops_duplicates)
{
	ASSERT(set_is("a:1 x\nb:2 y\na:1 w\n", "a:1", "z", "a:1 z\nb:2 y\n"));
	ASSERT(set_is("a:1 x\na:1 w\n", "a:1", NULL, ""));
}

TEST(lines_set_keeps_similar_keys)
{
	ASSERT(set_is("a:10 x\na:1 y\n", "a:1", NULL, "a:10 x\n"));
}

/* ---- fingerprints ---- */

TEST(fingerprint_round_trip)
{
	uint8_t fp[KAM_SHA256_LEN], back[KAM_SHA256_LEN];
	char s[STATE_FP_STR];

	for (size_t i = 0; i < sizeof(fp); i++)
		fp[i] = (uint8_t)(i * 7 + 1);
	state_fp_format(fp, s);
	ASSERT_EQ(strlen(s), STATE_FP_STR - 1);
	ASSERT(strncmp(s, "SHA256:01080f", 13) == 0);
	ASSERT_EQ(state_fp_parse(s, strlen(s), back), 0);
	ASSERT_MEM_EQ(fp, back, sizeof(fp));
}

TEST(fingerprint_rejects)
{
	uint8_t fp[KAM_SHA256_LEN];
	char s[STATE_FP_STR];

	memset(fp, 0xab, sizeof(fp));
	state_fp_format(fp, s);
	ASSERT_EQ(state_fp_parse(s, strlen(s) - 1, fp), KAM_EINVAL);       /* short */
	ASSERT_EQ(state_fp_parse(s + 1, strlen(s) - 1, fp), KAM_EINVAL);   /* no prefix */
	s[10] = 'g';
	ASSERT_EQ(state_fp_parse(s, strlen(s), fp), KAM_EINVAL);           /* not hex */
	ASSERT_EQ(state_fp_parse("SHA1:abcd", 9, fp), KAM_EINVAL);
}

/* ---- files ---- */

static char tmpdir[256];

/* A fresh XDG_CONFIG_HOME below a temporary directory, not yet created. */
static void fresh_home(void)
{
	char xdg[300];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/kam-test-state.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(xdg, sizeof(xdg), "%s/config", tmpdir);
	setenv("XDG_CONFIG_HOME", xdg, 1);
}

static void remove_home(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "  could not remove %s\n", tmpdir);
}

static unsigned mode_of(const char *name)
{
	char path[STATE_PATH_MAX];
	struct stat st;

	if (state_path(name, path, sizeof(path)) < 0 || stat(path, &st) < 0)
		return 0;
	return st.st_mode & 07777;
}

/* How many entries the state directory has, and how many are not ours. */
static int count_entries(int *others)
{
	char path[STATE_PATH_MAX];
	struct dirent *e;
	DIR *d;
	int n = 0;

	*others = 0;
	if (state_path(NULL, path, sizeof(path)) < 0 || !(d = opendir(path)))
		return -1;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		n++;
		if (strcmp(e->d_name, STATE_SESSIONS) != 0 && strcmp(e->d_name, STATE_KNOWN_SERVERS) != 0)
			(*others)++;
	}
	closedir(d);
	return n;
}

TEST(state_path_xdg_and_home)
{
	char path[STATE_PATH_MAX];
	char *old_xdg = getenv("XDG_CONFIG_HOME") ? strdup(getenv("XDG_CONFIG_HOME")) : NULL;

	setenv("XDG_CONFIG_HOME", "/x/y", 1);
	ASSERT_EQ(state_path(STATE_SESSIONS, path, sizeof(path)), 0);
	ASSERT_STR_EQ(path, "/x/y/kam/sessions");
	/* A relative XDG_CONFIG_HOME is ignored (XDG spec): HOME decides. */
	setenv("XDG_CONFIG_HOME", "rel", 1);
	setenv("HOME", "/home/u", 1);
	ASSERT_EQ(state_path(NULL, path, sizeof(path)), 0);
	ASSERT_STR_EQ(path, "/home/u/.config/kam");
	if (old_xdg)
		setenv("XDG_CONFIG_HOME", old_xdg, 1);
	free(old_xdg);
}

TEST(token_put_get_forget)
{
	uint8_t tok[KAM_TOKEN_LEN], back[KAM_TOKEN_LEN], other[KAM_TOKEN_LEN];
	int others;
	mode_t old_umask = umask(0);   /* the modes must not depend on the umask */

	fresh_home();
	for (size_t i = 0; i < sizeof(tok); i++) {
		tok[i] = (uint8_t)(0xf0 ^ i);
		other[i] = (uint8_t)i;
	}
	ASSERT_EQ(state_token_get("h:1", back), KAM_ENOTFOUND);   /* no file yet */
	ASSERT_EQ(state_token_put("h:1", tok), 0);
	ASSERT_EQ(state_token_put("h:2", other), 0);
	ASSERT_EQ(mode_of(NULL), 0700);
	ASSERT_EQ(mode_of(STATE_SESSIONS), 0600);
	ASSERT_EQ(state_token_get("h:1", back), 0);
	ASSERT_MEM_EQ(back, tok, sizeof(tok));
	ASSERT_EQ(state_token_get("h:2", back), 0);
	ASSERT_MEM_EQ(back, other, sizeof(other));

	/* A new login replaces the token. */
	ASSERT_EQ(state_token_put("h:1", other), 0);
	ASSERT_EQ(state_token_get("h:1", back), 0);
	ASSERT_MEM_EQ(back, other, sizeof(other));

	ASSERT_EQ(state_token_forget("h:1"), 0);
	ASSERT_EQ(state_token_get("h:1", back), KAM_ENOTFOUND);
	ASSERT_EQ(state_token_get("h:2", back), 0);
	ASSERT_EQ(state_token_forget("h:1"), 0);   /* idempotent */
	ASSERT_EQ(mode_of(STATE_SESSIONS), 0600);
	/* Atomic updates leave no temporary files behind. */
	ASSERT_EQ(count_entries(&others), 1);
	ASSERT_EQ(others, 0);
	umask(old_umask);
	remove_home();
}

/* Overwrite a state file with text, as a person with an editor might. */
static void write_file(const char *name, const char *text)
{
	char path[STATE_PATH_MAX];
	FILE *f;

	if (state_path(name, path, sizeof(path)) < 0 || !(f = fopen(path, "w"))) {
		perror(name);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

TEST(token_damaged_line_is_no_session)
{
	uint8_t tok[KAM_TOKEN_LEN] = { 1 }, back[KAM_TOKEN_LEN];

	fresh_home();
	ASSERT_EQ(state_token_put("h:1", tok), 0);
	write_file(STATE_SESSIONS, "h:1 nothex\nh:2 abcd\n");
	ASSERT_EQ(state_token_get("h:1", back), KAM_ENOTFOUND);
	ASSERT_EQ(state_token_get("h:2", back), KAM_ENOTFOUND);
	remove_home();
}

TEST(pins)
{
	uint8_t fp[KAM_SHA256_LEN], back[KAM_SHA256_LEN];
	int others;

	fresh_home();
	memset(fp, 0x5a, sizeof(fp));
	ASSERT_EQ(state_pin_get("[::1]:7433", back), KAM_ENOTFOUND);
	ASSERT_EQ(state_pin_put("[::1]:7433", fp), 0);
	ASSERT_EQ(mode_of(STATE_KNOWN_SERVERS), 0600);
	ASSERT_EQ(state_pin_get("[::1]:7433", back), 0);
	ASSERT_MEM_EQ(back, fp, sizeof(fp));
	ASSERT_EQ(state_pin_get("[::1]:7434", back), KAM_ENOTFOUND);
	/* Sessions and pins live apart. */
	ASSERT_EQ(count_entries(&others), 1);
	ASSERT_EQ(others, 0);
	remove_home();
}

TEST(pin_malformed_line)
{
	uint8_t fp[KAM_SHA256_LEN];

	fresh_home();
	memset(fp, 1, sizeof(fp));
	ASSERT_EQ(state_pin_put("h:1", fp), 0);
	write_file(STATE_KNOWN_SERVERS, "h:1 SHA256:zz\nh:2 MD5:abcd\n");
	/* Malformed is not "unknown": the caller refuses instead of re-pinning. */
	ASSERT_EQ(state_pin_get("h:1", fp), KAM_EPROTO);
	ASSERT_EQ(state_pin_get("h:2", fp), KAM_EPROTO);
	remove_home();
}

TEST(pin_file_comments_survive_update)
{
	uint8_t fp[KAM_SHA256_LEN], back[KAM_SHA256_LEN];
	char s[STATE_FP_STR], text[256];

	fresh_home();
	memset(fp, 2, sizeof(fp));
	ASSERT_EQ(state_pin_put("h:1", fp), 0);   /* creates the directory */
	state_fp_format(fp, s);
	snprintf(text, sizeof(text), "# mine\nh:9 %s\n", s);
	write_file(STATE_KNOWN_SERVERS, text);
	ASSERT_EQ(state_pin_put("h:1", fp), 0);
	ASSERT_EQ(state_pin_get("h:9", back), 0);
	ASSERT_EQ(state_pin_get("h:1", back), 0);
	ASSERT_MEM_EQ(back, fp, sizeof(fp));

	char path[STATE_PATH_MAX], got[512];
	FILE *f;
	ASSERT_EQ(state_path(STATE_KNOWN_SERVERS, path, sizeof(path)), 0);
	ASSERT((f = fopen(path, "r")) != NULL);
	size_t n = fread(got, 1, sizeof(got) - 1, f);
	fclose(f);
	got[n] = '\0';
	ASSERT(strncmp(got, "# mine\n", 7) == 0);
	remove_home();
}

TEST(no_home_is_an_error)
{
	char *old_xdg = getenv("XDG_CONFIG_HOME") ? strdup(getenv("XDG_CONFIG_HOME")) : NULL;
	char *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	uint8_t tok[KAM_TOKEN_LEN] = { 0 };

	unsetenv("XDG_CONFIG_HOME");
	unsetenv("HOME");
	ASSERT_EQ(state_token_put("h:1", tok), KAM_EINVAL);
	if (old_xdg)
		setenv("XDG_CONFIG_HOME", old_xdg, 1);
	if (old_home)
		setenv("HOME", old_home, 1);
	free(old_xdg);
	free(old_home);
}

TEST_MAIN(
	TEST_ENTRY(endpoint_host_port),
	TEST_ENTRY(endpoint_default_port),
	TEST_ENTRY(endpoint_ipv6),
	TEST_ENTRY(endpoint_leading_zeros_normalised),
	TEST_ENTRY(endpoint_rejects),
	TEST_ENTRY(endpoint_too_long),
	TEST_ENTRY(lines_find),
	TEST_ENTRY(lines_find_missing),
	TEST_ENTRY(lines_set_replaces_in_place),
	TEST_ENTRY(lines_set_appends),
	TEST_ENTRY(lines_set_removes),
	TEST_ENTRY(lines_set_drops_duplicates),
	TEST_ENTRY(lines_set_keeps_similar_keys),
	TEST_ENTRY(fingerprint_round_trip),
	TEST_ENTRY(fingerprint_rejects),
	TEST_ENTRY(state_path_xdg_and_home),
	TEST_ENTRY(token_put_get_forget),
	TEST_ENTRY(token_damaged_line_is_no_session),
	TEST_ENTRY(pins),
	TEST_ENTRY(pin_malformed_line),
	TEST_ENTRY(pin_file_comments_survive_update),
	TEST_ENTRY(no_home_is_an_error)
)
