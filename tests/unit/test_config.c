/*
 * kamd's configuration: defaults, the key = value file, ranges, unknown keys,
 * cross-key checks, and flags overriding the file. Pure: no sockets, no
 * database, only temporary files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

/* config.c is compiled into the kamd executable, not a library: build it in here. */
#include "config.h"

/* Write text to a fresh temporary file; path receives its name. */
static int write_temp(char path[64], const char *text)
{
	int fd;
	size_t n = strlen(text);

	snprintf(path, 64, "/tmp/kamd-test-config-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	if (write(fd, text, n) != (ssize_t)n) {
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

/* Load text as a config file into c; returns config_load_file's result, why filled. */
static int load_text(struct kamd_config *c, const char *text, char *why, size_t why_len, char path[64])
{
	int err;

	if (write_temp(path, text) != 0)
		return -999;
	err = config_load_file(c, path, why, why_len);
	unlink(path);
	return err;
}

static void set_required(struct kamd_config *c)
{
	char why[256];

	(void)!config_set(c, "db", "dbname=kam", why, sizeof(why));
	(void)!config_set(c, "tls_cert", "/tmp/cert.pem", why, sizeof(why));
	(void)!config_set(c, "tls_key", "/tmp/key.pem", why, sizeof(why));
}

TEST(defaults)
{
	struct kamd_config c;

	config_defaults(&c);
	ASSERT_STR_EQ(c.listen_host, "127.0.0.1");
	ASSERT_EQ(c.listen_port, 7433);
	ASSERT_EQ(c.max_frame, 1 << 20);
	ASSERT_EQ(c.max_frame_prelogin, 4096);
	ASSERT_EQ(c.db_pool_size, 4);
	ASSERT_EQ(c.session_idle_s, 900);
	ASSERT_EQ(c.session_absolute_s, 43200);
	ASSERT_EQ(c.argon2_m_kib, 65536);
	ASSERT_EQ(c.argon2_t, 3);
	ASSERT_EQ(c.argon2_p, 1);
	ASSERT_EQ(c.max_connections, 1024);
	ASSERT_EQ(c.shutdown_grace_s, 10);
	ASSERT_STR_EQ(c.log_level, "info");
	ASSERT_EQ(c.login_timeout_s, 10);
	ASSERT_EQ(c.idle_timeout_s, 900);
	ASSERT_EQ(c.max_inflight_per_session, 32);
	ASSERT_EQ(c.max_queued_output, 1 << 20);
	ASSERT(c.db == NULL && c.db_admin == NULL && c.tls_cert == NULL && c.tls_key == NULL);
	config_free(&c);
}

TEST(required_keys)
{
	struct kamd_config c;
	char why[256];

	config_defaults(&c);
	ASSERT_EQ(config_validate(&c, why, sizeof(why)), KAM_EINVAL);
	ASSERT(strstr(why, "db: required") != NULL);
	ASSERT_EQ(config_set(&c, "db", "dbname=kam", why, sizeof(why)), 0);
	ASSERT_EQ(config_validate(&c, why, sizeof(why)), KAM_EINVAL);
	ASSERT(strstr(why, "tls_cert") != NULL);
	set_required(&c);
	ASSERT_EQ(config_validate(&c, why, sizeof(why)), 0);
	config_free(&c);
}

TEST(file_parsing)
{
	struct kamd_config c;
	char why[512], path[64];
	const char *text =
		"# a comment\n"
		"\n"
		"   # an indented comment\n"
		"listen = 0.0.0.0:9000\n"
		"db = host=/tmp dbname=kam user=kamd\n"
		"db_admin = \"host=/tmp dbname=kam user=kam_owner\"\n"
		"tls_cert=/etc/kam/cert.pem\n"
		"\ttls_key\t=\t/etc/kam/key.pem  \n"
		"max_frame = 2097152\n"
		"max_frame_prelogin = 8192\n"
		"db_pool_size = 8\n"
		"session_idle_timeout = 600\n"
		"session_absolute_timeout = 3600\n"
		"argon2_memory_kib = 1024\n"
		"argon2_iterations = 1\n"
		"argon2_parallelism = 2\n"
		"max_connections = 10\n"
		"login_timeout = 5\n"
		"idle_timeout = 60\n"
		"max_inflight_per_session = 4\n"
		"max_queued_output = 65536\n"
		"shutdown_grace = 0\n"
		"log_level = debug\n";

	config_defaults(&c);
	ASSERT_EQ(load_text(&c, text, why, sizeof(why), path), 0);
	ASSERT_STR_EQ(c.listen_host, "0.0.0.0");
	ASSERT_EQ(c.listen_port, 9000);
	ASSERT_STR_EQ(c.db, "host=/tmp dbname=kam user=kamd");
	ASSERT_STR_EQ(c.db_admin, "host=/tmp dbname=kam user=kam_owner");
	ASSERT_STR_EQ(c.tls_cert, "/etc/kam/cert.pem");
	ASSERT_STR_EQ(c.tls_key, "/etc/kam/key.pem");
	ASSERT_EQ(c.max_frame, 2097152);
	ASSERT_EQ(c.max_frame_prelogin, 8192);
	ASSERT_EQ(c.db_pool_size, 8);
	ASSERT_EQ(c.session_idle_s, 600);
	ASSERT_EQ(c.session_absolute_s, 3600);
	ASSERT_EQ(c.argon2_m_kib, 1024);
	ASSERT_EQ(c.argon2_t, 1);
	ASSERT_EQ(c.argon2_p, 2);
	ASSERT_EQ(c.max_connections, 10);
	ASSERT_EQ(c.login_timeout_s, 5);
	ASSERT_EQ(c.idle_timeout_s, 60);
	ASSERT_EQ(c.max_inflight_per_session, 4);
	ASSERT_EQ(c.max_queued_output, 65536);
	ASSERT_EQ(c.shutdown_grace_s, 0);
	ASSERT_STR_EQ(c.log_level, "debug");
	ASSERT_EQ(config_validate(&c, why, sizeof(why)), 0);
	config_free(&c);
}

TEST(unknown_key_names_file_line)
{
	struct kamd_config c;
	char why[512], path[64], want[128];

	config_defaults(&c);
	ASSERT_EQ(load_text(&c, "db = x\n\n# ok\nmax_frames = 10\n", why, sizeof(why), path), KAM_EINVAL);
	snprintf(want, sizeof(want), "%s:4: unknown key 'max_frames'", path);
	ASSERT_STR_EQ(why, want);
	config_free(&c);
}

TEST(bad_values_name_file_line_and_key)
{
	struct kamd_config c;
	char why[512], path[64], want[160];

	config_defaults(&c);
	ASSERT_EQ(load_text(&c, "max_frame = 1M\n", why, sizeof(why), path), KAM_EINVAL);
	snprintf(want, sizeof(want), "%s:1: max_frame: '1M' is not a whole number", path);
	ASSERT_STR_EQ(why, want);

	ASSERT_EQ(load_text(&c, "\nmax_connections = 0\n", why, sizeof(why), path), KAM_EINVAL);
	snprintf(want, sizeof(want), "%s:2: max_connections: 0 is out of range (1..65536)", path);
	ASSERT_STR_EQ(why, want);

	ASSERT_EQ(load_text(&c, "log_level = loud\n", why, sizeof(why), path), KAM_EINVAL);
	ASSERT(strstr(why, ":1: log_level: 'loud' is not one of") != NULL);

	ASSERT_EQ(load_text(&c, "just words\n", why, sizeof(why), path), KAM_EINVAL);
	ASSERT(strstr(why, ":1: expected 'key = value'") != NULL);

	ASSERT_EQ(load_text(&c, " = 5\n", why, sizeof(why), path), KAM_EINVAL);
	ASSERT(strstr(why, ":1: expected 'key = value'") != NULL);

	ASSERT_EQ(load_text(&c, "db =\n", why, sizeof(why), path), KAM_EINVAL);
	ASSERT(strstr(why, ":1: db: must not be empty") != NULL);
	config_free(&c);
}

TEST(missing_file)
{
	struct kamd_config c;
	char why[512];

	config_defaults(&c);
	ASSERT(config_load_file(&c, "/nonexistent/kamd.conf", why, sizeof(why)) < 0);
	ASSERT_STR_EQ(why, "/nonexistent/kamd.conf: No such file or directory");
	config_free(&c);
}

TEST(ranges)
{
	struct kamd_config c;
	char why[256];

	config_defaults(&c);
	ASSERT_EQ(config_set(&c, "max_frame", "4095", why, sizeof(why)), KAM_EINVAL);
	ASSERT_STR_EQ(why, "max_frame: 4095 is out of range (4096..67108864)");
	ASSERT_EQ(config_set(&c, "max_frame", "4096", why, sizeof(why)), 0);
	ASSERT_EQ(config_set(&c, "db_pool_size", "-1", why, sizeof(why)), KAM_EINVAL);
	ASSERT_EQ(config_set(&c, "db_pool_size", "99999999999999999999", why, sizeof(why)), KAM_EINVAL);
	ASSERT_EQ(config_set(&c, "db_pool_size", " 3", why, sizeof(why)), KAM_EINVAL);
	ASSERT_EQ(config_set(&c, "db_pool_size", "", why, sizeof(why)), KAM_EINVAL);
	ASSERT_EQ(config_set(&c, "shutdown_grace", "0", why, sizeof(why)), 0);
	ASSERT_EQ(config_set(&c, "argon2_memory_kib", "7", why, sizeof(why)), KAM_EINVAL);
	ASSERT_EQ(c.max_frame, 4096);
	ASSERT_EQ(c.db_pool_size, 4);
	config_free(&c);
}

TEST(listen_forms)
{
	struct kamd_config c;
	char why[256];

	config_defaults(&c);
	ASSERT_EQ(config_set(&c, "listen", "[::1]:7500", why, sizeof(why)), 0);
	ASSERT_STR_EQ(c.listen_host, "::1");
	ASSERT_EQ(c.listen_port, 7500);
	ASSERT_EQ(config_set(&c, "listen", "localhost:0", why, sizeof(why)), 0);
	ASSERT_STR_EQ(c.listen_host, "localhost");
	ASSERT_EQ(c.listen_port, 0);
	ASSERT_EQ(config_set(&c, "listen", "localhost", why, sizeof(why)), KAM_EINVAL);
	ASSERT_STR_EQ(why, "listen: 'localhost' is not HOST:PORT");
	ASSERT_EQ(config_set(&c, "listen", "::1:7433", why, sizeof(why)), KAM_EINVAL);
	ASSERT(strstr(why, "brackets") != NULL);
	ASSERT_EQ(config_set(&c, "listen", "[::1]7433", why, sizeof(why)), KAM_EINVAL);
	ASSERT_EQ(config_set(&c, "listen", ":7433", why, sizeof(why)), KAM_EINVAL);
	ASSERT_EQ(config_set(&c, "listen", "host:65536", why, sizeof(why)), KAM_EINVAL);
	ASSERT_STR_EQ(why, "listen: 65536 is out of range (0..65535)");
	ASSERT_EQ(config_set(&c, "listen", "host:", why, sizeof(why)), KAM_EINVAL);
	/* A failed set leaves the previous value. */
	ASSERT_STR_EQ(c.listen_host, "localhost");
	ASSERT_EQ(c.listen_port, 0);
	config_free(&c);
}

TEST(unknown_key_from_flag)
{
	struct kamd_config c;
	char why[256];

	config_defaults(&c);
	ASSERT_EQ(config_set(&c, "bootstrap_gm", "boss", why, sizeof(why)), KAM_EINVAL);
	ASSERT_STR_EQ(why, "unknown key 'bootstrap_gm'");
	config_free(&c);
}

TEST(flags_override_file)
{
	struct kamd_config c;
	char why[512], path[64];

	config_defaults(&c);
	ASSERT_EQ(load_text(&c, "listen = 10.0.0.1:7000\ndb = dbname=file\nmax_frame = 8192\n", why, sizeof(why), path), 0);
	/* main.c applies flags after the file, through the same function. */
	ASSERT_EQ(config_set(&c, "listen", "127.0.0.2:7001", why, sizeof(why)), 0);
	ASSERT_EQ(config_set(&c, "db", "dbname=flag", why, sizeof(why)), 0);
	ASSERT_STR_EQ(c.listen_host, "127.0.0.2");
	ASSERT_EQ(c.listen_port, 7001);
	ASSERT_STR_EQ(c.db, "dbname=flag");
	ASSERT_EQ(c.max_frame, 8192);   /* untouched by flags: the file's value stays */
	config_free(&c);
}

TEST(cross_key_checks)
{
	struct kamd_config c;
	char why[256];

	config_defaults(&c);
	set_required(&c);
	c.max_frame = 4096;
	c.max_frame_prelogin = 8192;
	ASSERT_EQ(config_validate(&c, why, sizeof(why)), KAM_EINVAL);
	ASSERT(strstr(why, "max_frame_prelogin (8192) must not exceed max_frame (4096)") != NULL);
	c.max_frame_prelogin = 4096;
	c.session_idle_s = 7200;
	c.session_absolute_s = 3600;
	ASSERT_EQ(config_validate(&c, why, sizeof(why)), KAM_EINVAL);
	ASSERT(strstr(why, "session_idle_timeout") != NULL);
	c.session_idle_s = 600;
	c.argon2_m_kib = 16;
	c.argon2_p = 4;
	ASSERT_EQ(config_validate(&c, why, sizeof(why)), KAM_EINVAL);
	ASSERT(strstr(why, "argon2_memory_kib") != NULL);
	c.argon2_m_kib = 32;
	ASSERT_EQ(config_validate(&c, why, sizeof(why)), 0);
	/* -- hostile clients (issue 6): the first lockout wait within the longest -- */
	c.login_lockout_initial_s = 60;
	c.login_lockout_max_s = 30;
	ASSERT_EQ(config_validate(&c, why, sizeof(why)), KAM_EINVAL);
	ASSERT_STR_EQ(why, "login_lockout_initial (60) must not exceed login_lockout_max (30)");
	c.login_lockout_max_s = 60;
	ASSERT_EQ(config_validate(&c, why, sizeof(why)), 0);
	/* Values set directly in the struct are range-checked too. */
	c.db_pool_size = 0;
	ASSERT_EQ(config_validate(&c, why, sizeof(why)), KAM_EINVAL);
	ASSERT_STR_EQ(why, "db_pool_size: 0 is out of range (1..64)");
	config_free(&c);
}

TEST(bootstrap_needs_no_tls)
{
	struct kamd_config c;
	char why[256];

	config_defaults(&c);
	ASSERT_EQ(config_set(&c, "db", "dbname=kam", why, sizeof(why)), 0);
	c.bootstrap_gm = strdup("boss");
	ASSERT_EQ(config_validate(&c, why, sizeof(why)), 0);
	free(c.bootstrap_gm);
	c.bootstrap_gm = strdup("two words");
	ASSERT_EQ(config_validate(&c, why, sizeof(why)), KAM_EINVAL);
	ASSERT(strstr(why, "--bootstrap-gm") != NULL);
	config_free(&c);
	config_free(NULL);
}

TEST_MAIN(TEST_ENTRY(defaults), TEST_ENTRY(required_keys), TEST_ENTRY(file_parsing),
	  TEST_ENTRY(unknown_key_names_file_line), TEST_ENTRY(bad_values_name_file_line_and_key),
	  TEST_ENTRY(missing_file), TEST_ENTRY(ranges), TEST_ENTRY(listen_forms),
	  TEST_ENTRY(unknown_key_from_flag), TEST_ENTRY(flags_override_file), TEST_ENTRY(cross_key_checks),
	  TEST_ENTRY(bootstrap_needs_no_tls))
