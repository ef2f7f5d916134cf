"""Passwords (issue 6): 12 characters at least and up to 1024 bytes, on every
path that sets one; `kam user passwd` for one's own password (with the
current one, throttled like a login, other sessions ended) and for someone
else's (the GM, or the user's manager; every session ended, the lock lifted);
argon2id hashes upgraded on login when the parameters rise."""

import hashlib
import re

import kamtest
from kamtest import (GM, PASSWORD, Kam, Kamd, RawClient, TestCase, add_users, gm_kam, pb, setUpModule,  # noqa: F401
                     tearDownModule)

NEW = "a brand new secret 7"


class Passwords(TestCase):

    @classmethod
    def setUpClass(cls):
        cls.kamd = Kamd(kamtest.ENV).ensure_gm().start()
        cls.gm = gm_kam(cls.kamd)
        add_users(cls.gm, "mgr manager", "mgr2 manager", "jr junior mgr", "sr solution mgr", "jr2 junior mgr2",
                  "self1 junior mgr", "thr1 junior mgr", "deny1 junior mgr2")

    def kam(self, user=None, password=PASSWORD):
        k = Kam(kamtest.ENV, self.kamd)
        if user:
            k.login(user, password)
        return k

    def add(self, name, password):
        return self.gm.run("user", "add", name, "--role", "junior", "--password-stdin", stdin=password + "\n")

    # ---- the rule: 12 characters, 1024 bytes ----

    def test_length_rules_on_user_add(self):
        self.assertOneError(self.add("short1", "x" * 11), 6, "shorter than 12")
        self.assertSuccess(self.add("twelve1", "x" * 12))
        # Twelve bytes are not twelve characters.
        self.assertOneError(self.add("cjk1", "密码密码密码"), 6, "12 characters")
        self.assertSuccess(self.add("cjk2", "密码密码密码密码密码密码"))
        self.kam("cjk2", "密码密码密码密码密码密码")
        # 1024 bytes is the most; it works for login too.
        longest = "L" * 1024
        self.assertSuccess(self.add("long1", longest))
        self.kam("long1", longest)
        self.assertOneError(self.add("long2", "L" * 1025), 6, "1024")

    def test_length_rules_on_the_wire(self):
        with RawClient(self.kamd) as c:
            c.login()
            resp = c.call("user_add", username="wire1", role=pb.ROLE_JUNIOR, password="L" * 1025)
            self.assertRespError(resp, pb.ERROR_CODE_INVALID_ARGUMENT, field="password")
            resp = c.call("user_passwd", old_password=PASSWORD, new_password="N" * 1025)
            self.assertRespError(resp, pb.ERROR_CODE_INVALID_ARGUMENT, field="new_password")
            resp = c.call("user_passwd", old_password=PASSWORD, new_password="ééééééééééé")   # 11 characters
            self.assertRespError(resp, pb.ERROR_CODE_INVALID_ARGUMENT, field="new_password")
            resp = c.call("login", username=GM, password="P" * 1025)
            self.assertRespError(resp, pb.ERROR_CODE_INVALID_ARGUMENT, field="password")
            self.assertRespOk(c.call("whoami"))

    # ---- one's own ----

    def test_own_password(self):
        me = self.kam("self1")
        other = self.kam("self1")
        # Wrong current password: exit 3 on that field, and the session is kept.
        r = me.run("user", "passwd", "--password-stdin", stdin=f"wrong current!!\n{NEW}\n")
        self.assertOneError(r, 3, "current password is wrong")
        self.assertSuccess(me.run("whoami"))
        self.assertOneError(me.run("user", "passwd", "--password-stdin", stdin=f"{PASSWORD}\nshort\n"), 6)
        self.assertOneError(me.run("user", "passwd", "--password-stdin", stdin=f"{PASSWORD}\n{PASSWORD}\n"), 6)
        r = me.ok("user", "passwd", "--password-stdin", stdin=f"{PASSWORD}\n{NEW}\n")
        self.assertEqual(r.out, "password changed; 1 other session ended\n")
        self.assertSuccess(me.run("whoami"))
        self.assertOneError(other.run("whoami"), 3)
        self.assertOneError(self.kam().run("login", "self1", "--password-stdin", stdin=PASSWORD + "\n"), 3)
        self.kam("self1", NEW)
        rows = kamtest.ENV.psql("SELECT result, detail->>'by' FROM audit_log WHERE action = 'user.passwd' "
                                "AND username = 'self1' ORDER BY id")
        self.assertEqual(rows, [["failed", ""], ["allowed", "self"]])

    def test_own_password_on_a_terminal(self):
        me = self.kam("sr")
        r = me.run_pty("user", "passwd", dialogue=[(r"Current password: ", PASSWORD + "\n"),
                                                   (r"New password: ", NEW + "\n"),
                                                   (r"Repeat the password: ", NEW + "\n")])
        self.assertEqual(r.rc, 0, r)
        self.assertNotIn(NEW, r.out, "the terminal echoed the password")
        self.assertIn("password changed", r.out)
        self.kam("sr", NEW)

    def test_wrong_current_passwords_are_throttled(self):
        me = self.kam("thr1")
        for _ in range(5):
            self.assertOneError(me.run("user", "passwd", "--password-stdin", stdin=f"wrong current!!\n{NEW}\n"),
                                3, "current password is wrong")
        r = me.run("user", "passwd", "--password-stdin", stdin=f"{PASSWORD}\n{NEW}\n")
        self.assertOneError(r, 3, "too many failed logins for thr1")
        # The same lock holds for logins, and the session itself is still fine.
        self.assertOneError(self.kam().run("login", "thr1", "--password-stdin", stdin=PASSWORD + "\n"), 3,
                            "too many failed logins")
        self.assertSuccess(me.run("whoami"))
        self.assertSuccess(self.kam("mgr").run("user", "unlock", "thr1"))
        self.kam("thr1")

    # ---- someone else's ----

    def test_reset_by_manager_and_gm(self):
        jr_session = self.kam("jr")
        mgr = self.kam("mgr")
        r = mgr.ok("user", "passwd", "jr", "--password-stdin", stdin=NEW + "\n")
        self.assertEqual(r.out, "password of jr set; 1 session ended\n")
        self.assertOneError(jr_session.run("whoami"), 3)
        self.kam("jr", NEW)
        doc = self.gm.json("user", "passwd", "jr2", "--password-stdin", stdin=NEW + "\n")
        self.assertEqual(doc["user"]["username"], "jr2")
        self.assertEqual(doc["sessions_revoked"], 0)
        self.kam("jr2", NEW)
        rows = kamtest.ENV.psql("SELECT username, detail->>'user', detail->>'by' FROM audit_log "
                                "WHERE action = 'user.passwd' AND result = 'allowed' AND detail->>'by' = 'reset' "
                                "ORDER BY id")
        self.assertEqual(rows, [["mgr", "jr", "reset"], [GM, "jr2", "reset"]])

    def test_reset_denied_side(self):
        rep, mgr2 = self.kam("deny1"), self.kam("mgr2")
        # A rep may set nobody's password; a manager only their reports'.
        self.assertOneError(rep.run("user", "passwd", "jr2", "--password-stdin", stdin=NEW + "\n"), 4,
                            "permission denied")
        self.assertOneError(mgr2.run("user", "passwd", "jr", "--password-stdin", stdin=NEW + "\n"), 4,
                            "permission denied")
        self.assertOneError(mgr2.run("user", "passwd", "mgr", "--password-stdin", stdin=NEW + "\n"), 4)
        self.assertOneError(mgr2.run("user", "passwd", "nobody99", "--password-stdin", stdin=NEW + "\n"), 5,
                            "no user named nobody99")
        # Naming oneself is one's own change: it needs the current password (kam asks for none here).
        self.assertOneError(mgr2.run("user", "passwd", "mgr2", "--password-stdin", stdin=NEW + "\n"), 6,
                            "current password")
        rows = kamtest.ENV.psql("SELECT username, detail->>'denied' FROM audit_log "
                                "WHERE action = 'user.passwd' AND result = 'denied' ORDER BY id")
        self.assertIn(["deny1", "user.reset_report"], rows)
        self.assertIn(["mgr2", "user.reset"], rows)
        # Nothing changed: mgr's password still works.
        self.kam("mgr")

    def test_not_logged_in(self):
        r = self.kam().run("user", "passwd", "--password-stdin", stdin=f"{PASSWORD}\n{NEW}\n")
        self.assertOneError(r, 3, "not logged in")


class Rehash(TestCase):
    """A stored hash made with lower costs is replaced on the next login."""

    def test_upgrade_on_login(self):
        env = kamtest.ENV
        low = Kamd(env, name="kamd-low").ensure_gm().start()     # 8 MiB, t = 1 (the harness's)
        add_users(gm_kam(low), "rehash1 junior")

        def stored():
            return env.psql("SELECT password_hash FROM users WHERE username = 'rehash1'")[0][0]

        self.assertRegex(stored(), r"^\$argon2id\$v=19\$m=8192,t=1,p=1\$")
        low.stop()
        high = Kamd(env, name="kamd-high", extra={"argon2_memory_kib": "16384", "argon2_iterations": "2"}).start()
        Kam(env, high).login("rehash1")
        after = stored()
        self.assertRegex(after, r"^\$argon2id\$v=19\$m=16384,t=2,p=1\$")
        # The new hash works, and lower costs never downgrade it.
        high.stop()
        low.start()
        Kam(env, low).login("rehash1")
        self.assertEqual(stored(), after)
        self.assertTrue(re.search(r"m=16384", after))



class Sessions(TestCase):
    """A fresh 256-bit token at each login, stored only as its SHA-256; a role change
    applies on the session's next request."""

    @classmethod
    def setUpClass(cls):
        cls.kamd = Kamd(kamtest.ENV, name="kamd-sessions").ensure_gm().start()
        add_users(gm_kam(cls.kamd), "rolechg junior")

    def test_tokens_fresh_and_stored_hashed(self):
        env = kamtest.ENV
        tokens = []
        for _ in range(3):
            with RawClient(self.kamd) as c:
                tokens.append(c.login("rolechg").login.token)
        self.assertEqual(len(set(tokens)), 3)
        self.assertTrue(all(len(t) == 32 for t in tokens))
        stored = {r[0] for r in env.psql("SELECT encode(token_hash, 'hex') FROM sessions s JOIN users u "
                                         "ON u.id = s.user_id WHERE u.username = 'rolechg'")}
        for t in tokens:
            self.assertIn(hashlib.sha256(t).hexdigest(), stored)
            self.assertNotIn(t.hex(), stored)

    def test_role_change_applies_on_next_request(self):
        env = kamtest.ENV
        k = Kam(env, self.kamd)
        k.login("rolechg")
        self.assertOneError(k.run("user", "list"), 4)
        env.psql("UPDATE users SET role = 3 WHERE username = 'rolechg'")
        self.assertSuccess(k.run("user", "list"))          # the same session, now a manager
        env.psql("UPDATE users SET role = 1 WHERE username = 'rolechg'")
        self.assertOneError(k.run("user", "list"), 4)


if __name__ == "__main__":
    kamtest.main()
