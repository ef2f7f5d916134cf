"""The command-line contract of kam and kamd (PostgreSQL's program_help_ok manner):
--help and --version, bad options, start-up failures with one clear line, and a
client that cannot reach its server. Needs no running daemon, only the database."""

import os
import tempfile

import kamtest
from kamtest import TestCase, Kam, Kamd, free_port, setUpModule, tearDownModule  # noqa: F401

# Every command and group of the current command set; each must accept --help.
COMMANDS = [
    [], ["login"], ["logout"], ["whoami"],
    ["user"], ["user", "add"], ["user", "list"],
    ["account"], ["account", "add"], ["account", "list"], ["account", "show"],
    ["account", "set"], ["account", "assign"], ["account", "unassign"],
]
# -- layers (issue 3) --
COMMANDS += [[g] for g in ("barrier", "project", "contact", "value", "agreement", "review")] + [
    ["barrier", v] for v in ("add", "list", "set", "clear")] + [
    ["project", v] for v in ("add", "list", "show", "advance", "close", "set")] + [
    ["contact", v] for v in ("add", "list", "set")] + [
    ["value", "add"], ["value", "list"], ["agreement", "add"], ["agreement", "list"]]


class KamCli(TestCase):
    """kam's own options; usage errors must be caught before any network traffic,
    so these run against a port where nothing listens (a connect would give exit 7)."""

    @classmethod
    def setUpClass(cls):
        cls.kam = Kam(kamtest.ENV, server=f"127.0.0.1:{free_port()}", ca=None)

    def test_help_everywhere(self):
        for cmd in COMMANDS:
            with self.subTest(cmd=" ".join(cmd) or "kam"):
                r = self.kam.run(*cmd, "--help")
                self.assertSuccess(r)
                self.assertIn("usage", r.out.lower(), f"--help prints usage on stdout:{r}")

    def test_short_help(self):
        r = self.kam.bare("-h")
        self.assertSuccess(r)
        self.assertIn("usage", r.out.lower())

    def test_version(self):
        r = self.kam.bare("--version")
        self.assertSuccess(r)
        self.assertRegex(r.out, r"^kam \d+\.\d+\.\d+", f"{r}")

    def test_bad_options_exit_2(self):
        cases = [
            ["--bogus"],
            ["nosuchcommand"],
            ["account", "frobnicate"],
            ["account", "list", "--bogus"],
            ["account", "add", "Acme", "--tier", "platinum"],
            ["account", "add", "Acme"],                      # --tier is required
            ["account", "list", "--stage", "nope"],
            ["account", "set", "Acme", "notes"],             # FIELD=VALUE without '='
            ["account", "show"],                             # missing ACCOUNT
            ["account", "assign", "Acme"],                   # missing USER
            ["user", "add", "bob", "--role", "intern"],
            ["login"],                                       # missing USER
            ["login", "gm", "secret-on-the-command-line"],   # passwords never from argv
        ]
        for args in cases:
            with self.subTest(args=" ".join(args)):
                self.assertOneError(self.kam.run(*args), 2)

    def test_bad_option_json_error(self):
        r = self.kam.run("account", "list", "--bogus", json=True)
        self.assertOneError(r, 2, json=True)

    def test_bad_keyword_lists_valid_ones(self):
        r = self.kam.run("account", "add", "Acme", "--tier", "platinum")
        self.assertOneError(r, 2)
        for kw in ("strategic", "top", "important", "ordinary"):
            self.assertIn(kw, r.err)

    # login always talks to the server (other commands may answer "not logged in", 3,
    # from the missing local session without connecting).
    def test_closed_port_exit_7(self):
        kam = Kam(kamtest.ENV, server=f"127.0.0.1:{free_port()}", ca=kamtest.ENV.cert)
        pw = "x" * 20 + "\n"
        self.assertOneError(kam.run("login", "gm", "--password-stdin", stdin=pw), 7)
        self.assertOneError(kam.run("login", "gm", "--password-stdin", stdin=pw, json=True), 7, json=True)

    def test_unresolvable_server_exit_7(self):
        kam = Kam(kamtest.ENV, server="host.invalid:7433", ca=kamtest.ENV.cert)
        self.assertOneError(kam.run("login", "gm", "--password-stdin", stdin="x" * 20 + "\n"), 7)


class KamdCli(TestCase):
    """kamd's options and start-up failures: one line on stderr, the right exit code."""

    @classmethod
    def setUpClass(cls):
        cls.env = kamtest.ENV

    def kamd(self, name, **kw):
        return Kamd(self.env, name=name, **kw)

    def assertOneLine(self, r, code=None, *contains):
        if code is None:
            self.assertNotEqual(r.rc, 0, f"must fail:{r}")
        else:
            self.assertEqual(r.rc, code, f"{r}")
        lines = r.err.splitlines()
        self.assertEqual(len(lines), 1, f"exactly one line on stderr:{r}")
        self.assertTrue(lines[0].startswith("kamd: "), f"the line starts with 'kamd: ':{r}")
        for c in contains:
            self.assertIn(c.lower(), r.err.lower(), f"should mention {c!r}:{r}")

    def test_help(self):
        r = self.kamd("help").run("--help")
        self.assertEqual(r.rc, 0, f"{r}")
        self.assertIn("usage", r.out.lower(), f"{r}")
        self.assertIn("--config", r.out, f"{r}")

    def test_version(self):
        r = self.kamd("version").run("--version")
        self.assertEqual(r.rc, 0, f"{r}")
        self.assertRegex(r.out, r"kamd \d+\.\d+\.\d+", f"{r}")
        # Library versions are part of -V (style.md, Daemon options).
        for lib in ("libuv", "OpenSSL", "libpq", "protobuf-c"):
            self.assertIn(lib.lower(), r.out.lower(), f"--version names {lib}:{r}")

    def test_bad_option(self):
        r = self.kamd("bogus").run("--bogus")
        self.assertEqual(r.rc, 2, f"{r}")
        self.assertEqual(r.out, "", f"{r}")
        self.assertTrue(r.err.strip(), f"{r}")

    def test_config_test_mode(self):
        d = self.kamd("check")
        r = d.run("--config", d.conf, "--test")
        self.assertEqual(r.rc, 0, f"a valid config passes --test:{r}")

    def test_missing_tls_cert(self):
        d = self.kamd("nocert", extra={"tls_cert": None, "tls_key": None})
        self.assertOneLine(d.run("--config", d.conf), 2, "tls_cert")

    def test_missing_db(self):
        d = self.kamd("nodb", extra={"db": None})
        self.assertOneLine(d.run("--config", d.conf), 2, "db")

    def test_unknown_key(self):
        d = self.kamd("unknownkey", extra={"no_such_key": "1"})
        r = d.run("--config", d.conf)
        self.assertOneLine(r, 2, "no_such_key", os.path.basename(d.conf))

    def test_bad_value(self):
        d = self.kamd("badvalue", extra={"max_connections": "many"})
        self.assertOneLine(d.run("--config", d.conf), 2, "max_connections")

    def test_missing_config_file(self):
        d = self.kamd("nofile")
        missing = os.path.join(self.env.tmp, "does-not-exist.conf")
        r = d.run("--config", missing)
        self.assertOneLine(r, None, "does-not-exist.conf")

    def test_tls_cert_file_missing(self):
        missing = os.path.join(self.env.tmp, "no-such-cert.pem")
        d = self.kamd("certfile", extra={"tls_cert": missing})
        self.assertOneLine(d.run("--config", d.conf), None, "no-such-cert.pem")

    def test_postgres_unreachable(self):
        empty = tempfile.mkdtemp(dir=self.env.tmp)   # a socket dir with no server in it
        conn = f"host={empty} port={self.env.pgport} dbname=kam user=kam_app"
        admin = f"host={empty} port={self.env.pgport} dbname=kam user=kam_admin"
        d = self.kamd("nopg", extra={"db": conn, "db_admin": admin})
        r = d.run("--config", d.conf)
        self.assertOneLine(r, None, "PostgreSQL")
        self.assertNotEqual(r.rc, 2, f"an unreachable database is a runtime failure, not a usage one:{r}")

    def test_bootstrap_gm_once_and_flags_override_file(self):
        env = self.env
        # The file names an unreachable database; --db/--db-admin on the command line win.
        empty = tempfile.mkdtemp(dir=env.tmp)
        d = self.kamd("boot", extra={"db": f"host={empty} dbname=x user=kam_app",
                                     "db_admin": f"host={empty} dbname=x user=kam_admin"})
        flags = ["--db", env.conninfo("kam_app"), "--db-admin", env.conninfo("kam_admin")]
        r = d.run("--config", d.conf, *flags, "--bootstrap-gm", "boss", stdin=kamtest.PASSWORD + "\n")
        self.assertEqual(r.rc, 0, f"flags override the file, and the first GM is created:{r}")
        self.assertEqual(env.psql("SELECT username, role, active FROM users"), [["boss", "4", "t"]])
        hashed = env.psql("SELECT password_hash FROM users")[0][0]
        self.assertTrue(hashed.startswith("$argon2id$"), f"a PHC argon2id string, not {hashed!r}")
        self.assertNotIn(kamtest.PASSWORD, hashed)
        # A second GM is refused: non-zero, one line, and nothing changes.
        r = d.run("--config", d.conf, *flags, "--bootstrap-gm", "boss2", stdin=kamtest.PASSWORD + "\n")
        self.assertNotEqual(r.rc, 0, f"{r}")
        self.assertEqual(len(r.err.splitlines()), 1, f"one line:{r}")
        self.assertEqual(env.psql("SELECT count(*) FROM users"), [["1"]])
        # The bootstrap is audited, without the password.
        self.assertEqual(env.psql("SELECT action, result FROM audit_log WHERE username = 'boss'"),
                         [["user.bootstrap", "allowed"]])
        self.assertEqual(env.psql(f"SELECT count(*) FROM audit_log WHERE detail::text LIKE '%{kamtest.PASSWORD}%'"),
                         [["0"]])
        # Migrations are idempotent: running them again (another bootstrap) applies nothing new.
        versions = env.psql("SELECT version FROM kam_schema_migrations ORDER BY version")
        d.run("--config", d.conf, *flags, "--bootstrap-gm", "boss3", stdin=kamtest.PASSWORD + "\n")
        self.assertEqual(env.psql("SELECT version FROM kam_schema_migrations ORDER BY version"), versions)

    def test_bootstrap_short_password(self):
        d = self.kamd("bootshort")
        r = d.run("--config", d.conf, "--bootstrap-gm", "shorty", stdin="short\n")
        self.assertOneLine(r, 2, "password")


if __name__ == "__main__":
    kamtest.main()
