"""The fast path (issue 5) against the real database: once a connection's
session has been checked in full, its reads are checked again by guards at
the head of their first job (deploy/sql/0008_fast_path.sql). Whatever changes
between two requests of one connection must be seen exactly as the full check
would see it: a revoked session, a deactivated user, a changed role, the
bulk-read watch. Refused on the fast path, nothing is read or audited.

A revocation or a deactivation is also announced (LISTEN/NOTIFY, issue 7)
and may close the connection before its next request; these tests accept
either ending, and use what is not announced (an expired session, a changed
role) to reach the guard itself."""

import kamtest
from kamtest import GM, PASSWORD, Kam, Kamd, RawClient, TestCase, pb, setUpModule, tearDownModule  # noqa: F401

LIMIT = 3


def rows(sql):
    return kamtest.ENV.psql(sql)


def audit_count(user):
    return int(rows(f"SELECT count(*) FROM audit_log WHERE username = '{user}' AND action = 'account.show'")[0][0])


class FastPath(TestCase):

    @classmethod
    def setUpClass(cls):
        env = kamtest.ENV
        cls.kamd = Kamd(env, extra={"bulk_read_limit": str(LIMIT), "bulk_read_window": "600"}).ensure_gm().start()
        gm = Kam(env, cls.kamd)
        gm.login(GM)
        gm.ok("user", "add", "boss", "--role", "manager", "--password-stdin", stdin=PASSWORD + "\n")
        for u in ("fp1", "fp2", "fp3", "fp4"):
            gm.ok("user", "add", u, "--role", "junior", "--reports-to", "boss", "--password-stdin",
                  stdin=PASSWORD + "\n")
            for i in range(LIMIT + 2):
                gm.ok("account", "add", f"{u}-acc{i}", "--tier", "ordinary", "--owner", u)
        cls.gm = gm

    def client(self, user):
        c = RawClient(self.kamd)
        self.addCleanup(c.close)
        c.login(user)
        return c

    def show(self, c, name):
        return c.call("account_show", account=name)

    def assertEnded(self, c, body, **fields):
        """The request is refused as unauthenticated, or the connection was already ended
        by the announced revocation (one id-0 UNAUTHENTICATED response, then EOF)."""
        try:
            resp = c.call(body, **fields)
        except AssertionError as e:   # the id-0 notice instead of the answer
            self.assertIn("session ended", str(e))
            self.assertTrue(c.closed(), "kamd must close the connection after the notice")
            return
        except (kamtest.Closed, OSError):   # closed before the request could be sent or answered
            return
        self.assertRespError(resp, pb.ERROR_CODE_UNAUTHENTICATED)

    def test_expired_session_refused_and_not_audited(self):
        c = self.client("fp1")
        self.assertRespOk(self.show(c, "fp1-acc0"))     # the fast path the login opened
        self.assertRespOk(self.show(c, "fp1-acc0"))
        # Expiry is not announced: only the guard inside the read's job can see it.
        rows("UPDATE sessions SET expires_at = now() WHERE user_id = (SELECT id FROM users WHERE username = 'fp1')")
        before = audit_count("fp1")
        self.assertRespError(self.show(c, "fp1-acc0"), pb.ERROR_CODE_UNAUTHENTICATED)
        self.assertEqual(audit_count("fp1"), before, "a refused fast-path read must leave no audit entry")

    def test_revoked_session_refused_and_not_audited(self):
        c = self.client("fp1")
        self.assertRespOk(self.show(c, "fp1-acc1"))
        before = audit_count("fp1")
        rows("UPDATE sessions SET revoked_at = now() WHERE revoked_at IS NULL "
             "AND user_id = (SELECT id FROM users WHERE username = 'fp1')")
        self.assertEnded(c, "account_show", account="fp1-acc1")
        self.assertEqual(audit_count("fp1"), before, "a refused fast-path read must leave no audit entry")

    def test_deactivated_user_refused(self):
        c = self.client("fp2")
        self.assertRespOk(self.show(c, "fp2-acc0"))
        self.assertRespOk(self.show(c, "fp2-acc0"))
        rows("UPDATE users SET active = false WHERE username = 'fp2'")
        try:
            self.assertEnded(c, "account_show", account="fp2-acc0")
        finally:
            rows("UPDATE users SET active = true WHERE username = 'fp2'")

    def test_role_change_takes_effect_at_once(self):
        c = self.client("fp3")
        self.assertRespOk(self.show(c, "fp3-acc0"))
        self.assertRespOk(self.show(c, "fp3-acc0"))
        # Promoted to GM behind kamd's back: the next request must act with the new role
        # (a GM sees another rep's account), not the one the connection was checked with.
        self.assertRespError(self.show(c, "fp4-acc0"), pb.ERROR_CODE_NOT_FOUND)
        rows("UPDATE users SET role = 4, reports_to = NULL WHERE username = 'fp3'")
        try:
            self.assertRespOk(self.show(c, "fp4-acc0"))
        finally:
            rows("UPDATE users SET role = 1, reports_to = (SELECT id FROM users WHERE username = 'boss') "
                 "WHERE username = 'fp3'")
        # And demoted again: refused again.
        self.assertRespError(self.show(c, "fp4-acc1"), pb.ERROR_CODE_NOT_FOUND)

    def test_watch_refusal_on_the_fast_path_flags_and_audits(self):
        c = self.client("fp4")
        for i in range(LIMIT):
            self.assertRespOk(self.show(c, f"fp4-acc{i}"))
        denied_before = int(rows("SELECT count(*) FROM audit_log WHERE username = 'fp4' AND result = 'denied'")[0][0])
        self.assertRespError(self.show(c, f"fp4-acc{LIMIT}"), pb.ERROR_CODE_PERMISSION_DENIED)
        # The flag committed although the guarded job rolled back, with its watch.flag entry and the denial.
        self.assertEqual(rows("SELECT flagged_at IS NOT NULL FROM audit_watch_user "
                              "WHERE user_id = (SELECT id FROM users WHERE username = 'fp4')"), [["t"]])
        self.assertEqual(int(rows("SELECT count(*) FROM audit_log WHERE action = 'watch.flag' "
                                  "AND username = 'fp4'")[0][0]), 1)
        denied = int(rows("SELECT count(*) FROM audit_log WHERE username = 'fp4' AND result = 'denied'")[0][0])
        self.assertEqual(denied, denied_before + 1)
        # Flagged: even an account read before is refused now, on the same connection.
        self.assertRespError(self.show(c, "fp4-acc0"), pb.ERROR_CODE_PERMISSION_DENIED)
        self.assertEqual(audit_count("fp4"), LIMIT + 2)   # LIMIT reads + 2 denied attempts
        self.gm.ok("audit", "clear", "fp4")
        self.assertRespOk(self.show(c, "fp4-acc0"))


if __name__ == "__main__":
    kamtest.main()
