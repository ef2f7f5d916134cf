"""Sessions and trust: login/logout/whoami, session expiry, where kam keeps its
state (and that it keeps nothing about accounts), and certificate pinning."""

import json
import os
import re
import stat
import time

import kamtest
from kamtest import (GM, PASSWORD, Kam, Kamd, RawClient, TestCase, cert_fingerprint, make_cert, pb,
                     setUpModule, tearDownModule)  # noqa: F401

# The only files kam may keep (contract: session tokens and pinned fingerprints).
STATE_FILES = {"sessions", "known_servers"}


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def stored_token(kam, port):
    """The hex session token kam stored for 127.0.0.1:port, or None."""
    path = os.path.join(kam.state_dir, "sessions")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        for line in f:
            if f"127.0.0.1:{port}" in line:
                m = re.search(r"\b[0-9a-fA-F]{64}\b", line)
                if m:
                    return bytes.fromhex(m.group(0))
    return None


class Session(TestCase):

    @classmethod
    def setUpClass(cls):
        env = kamtest.ENV
        cls.kamd = Kamd(env).ensure_gm().start()
        admin = Kam(env, cls.kamd)
        admin.login(GM)
        admin.ok("user", "add", "boss1", "--role", "manager", "--password-stdin", stdin=PASSWORD + "\n")
        admin.ok("user", "add", "rep1", "--role", "junior", "--reports-to", "boss1", "--password-stdin",
                 stdin=PASSWORD + "\n")

    def new_kam(self, **kw):
        return Kam(kamtest.ENV, self.kamd, **kw)

    def test_login_right(self):
        kam = self.new_kam()
        r = kam.login(GM)
        self.assertSuccess(r)
        self.assertIn("logged in as gm", r.out)
        self.assertEqual(mode(kam.state_dir), 0o700, "the config dir is private")
        names = os.listdir(kam.state_dir)
        self.assertIn("sessions", names)
        for n in names:
            self.assertEqual(mode(os.path.join(kam.state_dir, n)), 0o600, f"{n} is private")
        self.assertIsNotNone(stored_token(kam, self.kamd.port), "the token is stored per server")
        self.assertSuccess(kam.run("whoami"))

    def test_login_json(self):
        kam = self.new_kam()
        doc = kam.json("login", "rep1", "--password-stdin", stdin=PASSWORD + "\n")
        self.assertEqual(doc["user"]["username"], "rep1")
        self.assertEqual(doc["user"]["role"], "junior")
        # The whole user record: manager and creation time as the user list shows them.
        self.assertEqual(doc["user"]["reports_to"], "boss1")
        self.assertRegex(doc["user"]["created_at"], r"^20\d\d-\d\d-\d\dT")
        self.assertRegex(doc["expires_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")

    def test_wrong_password_and_unknown_user_look_alike(self):
        kam = self.new_kam()
        wrong = kam.run("login", GM, "--password-stdin", stdin="not the password at all\n")
        self.assertOneError(wrong, 3)
        unknown = kam.run("login", "nobody", "--password-stdin", stdin="not the password at all\n")
        self.assertOneError(unknown, 3)
        # Same text, whichever user name was tried: no way to probe for users.
        self.assertEqual(wrong.err.replace(GM, "USER"), unknown.err.replace("nobody", "USER"))
        self.assertIsNone(stored_token(kam, self.kamd.port), "no token after a failed login")
        rows = kamtest.ENV.psql("SELECT username, result FROM audit_log WHERE action = 'login' "
                                "AND result = 'failed' AND username IN ('gm', 'nobody') ORDER BY id")
        self.assertIn(["gm", "failed"], rows)
        self.assertIn(["nobody", "failed"], rows)

    def test_whoami(self):
        kam = self.new_kam()
        kam.login("rep1")
        r = kam.ok("whoami")
        self.assertIn("rep1", r.out)
        self.assertIn("junior", r.out)
        doc = kam.json("whoami")
        self.assertEqual(doc["user"]["username"], "rep1")
        self.assertEqual(doc["user"]["reports_to"], "boss1")
        self.assertRegex(doc["user"]["created_at"], r"^20\d\d-\d\d-\d\dT")

    def test_not_logged_in(self):
        kam = self.new_kam()
        self.assertOneError(kam.run("whoami"), 3, "login")
        self.assertOneError(kam.run("account", "list"), 3)
        self.assertOneError(kam.run("whoami", json=True), 3, json=True)

    def test_logout(self):
        kam = self.new_kam()
        kam.login(GM)
        token = stored_token(kam, self.kamd.port)
        self.assertSuccess(kam.run("logout"))
        self.assertIsNone(stored_token(kam, self.kamd.port), "logout forgets the token")
        self.assertOneError(kam.run("whoami"), 3)
        # The token is revoked on the server too, not only forgotten by this client.
        with RawClient(self.kamd) as c:
            c.token = token
            self.assertRespError(c.call("whoami"), pb.ERROR_CODE_UNAUTHENTICATED)

    def test_password_stdin_strips_newline_only(self):
        kam = self.new_kam()
        self.assertSuccess(kam.run("login", GM, "--password-stdin", stdin=PASSWORD + "\n"))
        r = kam.run("login", GM, "--password-stdin", stdin=PASSWORD + " \n")
        self.assertOneError(r, 3)

    def test_session_idle_and_absolute_timeout(self):
        env = kamtest.ENV
        short = Kamd(env, name="kamd-expiry",
                     extra={"session_idle_timeout": "3", "session_absolute_timeout": "8"}).start()
        try:
            idle, busy = Kam(env, short), Kam(env, short)
            idle.login(GM)
            busy.login(GM)
            # Activity every second keeps a session alive past the idle limit (3 s) ...
            for _ in range(3):
                time.sleep(1.0)
                self.assertSuccess(idle.run("whoami"))
                self.assertSuccess(busy.run("whoami"))
            # ... but not past the absolute one (8 s after login), however busy ...
            results = []
            for _ in range(5):
                time.sleep(1.0)
                results.append(busy.run("whoami"))
            self.assertSuccess(results[0])
            self.assertOneError(results[-1], 3, "login")
            # ... and 5 s of idleness ended the other one; kam forgets the dead token.
            self.assertOneError(idle.run("whoami"), 3, "login")
            self.assertIsNone(stored_token(idle, short.port), "a rejected token is removed locally")
        finally:
            short.stop()

    def test_kam_config_file_and_env(self):
        kam = self.new_kam()
        kam.login(GM)
        conf = os.path.join(kam.root, "kam.conf")
        with open(conf, "w") as f:
            f.write(f"server = 127.0.0.1:{self.kamd.port}\nca = {self.kamd.cert}\n")
        self.assertSuccess(kam.bare("--config", conf, "whoami"))
        env = {"KAM_SERVER": f"127.0.0.1:{self.kamd.port}", "KAM_CA": self.kamd.cert}
        self.assertSuccess(kam.bare("whoami", env=env))

    def test_nothing_about_accounts_on_disk(self):
        kam = self.new_kam()
        kam.login(GM)
        secret_name = "Zebra Secret Holdings"
        secret_note = "the-cfo-hates-us-7731"
        kam.ok("account", "add", secret_name, "--tier", "important")
        kam.ok("account", "set", secret_name, f"notes={secret_note}", "business=zebras")
        kam.ok("account", "show", secret_name)
        kam.json("account", "show", secret_name)
        kam.ok("account", "list")
        kam.ok("user", "list")
        kam.ok("whoami")
        # Pin a server too, so both kinds of state exist.
        kam.ok("whoami", ca=None, globals_=["--trust-on-first-use"])
        files = kam.files()
        self.assertTrue(files, "kam kept its session somewhere")
        for rel in files:
            self.assertTrue(rel.startswith("xdg/kam/"), f"{rel}: state lives in $XDG_CONFIG_HOME/kam only")
            self.assertIn(os.path.basename(rel), STATE_FILES, f"unexpected state file {rel}")
            with open(os.path.join(kam.root, rel), errors="replace") as f:
                text = f.read()
            for s in (secret_name, "Zebra", secret_note, "zebras", PASSWORD):
                self.assertNotIn(s, text, f"{rel} contains {s!r}")
            self.assertEqual(mode(os.path.join(kam.root, rel)), 0o600)


class Pinning(TestCase):
    """Without --ca, kam pins the server's certificate like ssh pins host keys."""

    @classmethod
    def setUpClass(cls):
        env = kamtest.ENV
        cls.cert2, cls.key2 = make_cert(env.tmp, "pinning-new")
        cls.kamd = Kamd(env, name="kamd-pin").ensure_gm().start()

    def test_pinning(self):
        env = kamtest.ENV
        fp = cert_fingerprint(self.kamd.cert)
        kam = Kam(env, self.kamd, ca=None)

        # Unknown server, off a terminal, no --trust-on-first-use: refuse, and say what to do.
        r = kam.run("login", GM, "--password-stdin", stdin=PASSWORD + "\n")
        self.assertOneError(r, 7, "--trust-on-first-use")
        self.assertIn(fp, r.err.replace(":", "").lower(), f"the refusal shows the fingerprint:{r}")
        self.assertFalse(os.path.exists(os.path.join(kam.state_dir, "known_servers"))
                         and fp in open(os.path.join(kam.state_dir, "known_servers")).read().lower(),
                         "nothing pinned after a refusal")

        # --trust-on-first-use pins it; later runs need no flag.
        kam.login(GM, globals_=["--trust-on-first-use"])
        known = os.path.join(kam.state_dir, "known_servers")
        self.assertEqual(mode(known), 0o600)
        with open(known) as f:
            pinned = f.read()
        self.assertIn(f"127.0.0.1:{self.kamd.port}", pinned)
        self.assertIn(fp, pinned.replace(":", "").lower())
        self.assertSuccess(kam.run("whoami"))

        # Same port, new certificate: always refused, loudly, even with --trust-on-first-use.
        self.kamd.stop()
        self.kamd.cert, self.kamd.key = self.cert2, self.key2
        self.kamd.write_config()
        self.kamd.start()
        for extra in ([], ["--trust-on-first-use"]):
            with self.subTest(globals_=extra):
                r = kam.run("whoami", globals_=extra)
                self.assertExit(r, 7)
                self.assertEqual(r.out, "")
                self.assertIn("changed", r.err.lower(), f"a loud warning:{r}")
                self.assertIn("known_servers", r.err, f"says where the pin lives:{r}")
        with open(known) as f:
            self.assertEqual(f.read(), pinned, "a changed certificate never replaces the pin")

        # An explicit --ca does not consult the pins: the new certificate verifies.
        self.assertSuccess(kam.run("whoami", ca=self.cert2))
        # The old certificate as CA does not verify the new server.
        self.assertOneError(kam.run("whoami", ca=env.cert), 7)
        # A fresh client pins the new certificate without complaint.
        fresh = Kam(env, self.kamd, ca=None)
        fresh.login(GM, globals_=["--trust-on-first-use"])


class Terminal(TestCase):
    """kam at a terminal: it asks before pinning, and reads passwords without echo."""

    @classmethod
    def setUpClass(cls):
        cls.kamd = Kamd(kamtest.ENV, name="kamd-tty").ensure_gm().start()

    def test_password_prompt_without_echo(self):
        kam = Kam(kamtest.ENV, self.kamd)
        r = kam.run_pty("login", GM, dialogue=[(r"(?i)password", PASSWORD + "\n")])
        self.assertEqual(r.rc, 0, f"{r}")
        self.assertNotIn(PASSWORD, r.out, f"the password was echoed:{r}")
        self.assertIn("logged in as gm", r.out)

    def test_first_contact_asks(self):
        fp = cert_fingerprint(self.kamd.cert)
        kam = Kam(kamtest.ENV, self.kamd, ca=None)
        r = kam.run_pty("login", GM, dialogue=[(r"\(yes/no\)\? ?$", "no\n"),
                                              (r"(?i)password[^\n]*$", PASSWORD + "\n")])
        self.assertEqual(r.rc, 7, f"answering no refuses:{r}")
        self.assertIn(fp, r.out.replace(":", "").lower(), f"the question shows the fingerprint:{r}")
        self.assertFalse(os.path.exists(os.path.join(kam.state_dir, "known_servers"))
                         and fp in open(os.path.join(kam.state_dir, "known_servers")).read().lower())
        r = kam.run_pty("login", GM, dialogue=[(r"\(yes/no\)\? ?$", "yes\n"),
                                              (r"(?i)password[^\n]*$", PASSWORD + "\n")])
        self.assertEqual(r.rc, 0, f"{r}")
        self.assertNotIn(PASSWORD, r.out)
        with open(os.path.join(kam.state_dir, "known_servers")) as f:
            self.assertIn(fp, f.read().replace(":", "").lower())
        # Pinned now: no question the next time.
        r = kam.run_pty("whoami")
        self.assertEqual(r.rc, 0, f"{r}")
        self.assertNotIn("yes/no", r.out)


if __name__ == "__main__":
    kamtest.main()
