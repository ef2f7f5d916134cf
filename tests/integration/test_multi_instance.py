"""Three kamd instances on one database (issue 7): everything that must hold
across instances lives in PostgreSQL, so a session made on one instance works
on the others, a logout or a deactivation on one is refused at once on the
others, failed passwords count together towards a lockout, and the bulk-read
watch counts the reads a user spreads over instances."""

import kamtest
from kamtest import GM, PASSWORD, Kam, Kamd, RawClient, TestCase, pb, setUpModule, tearDownModule  # noqa: F401

LIMIT = 3          # bulk_read_limit: distinct accounts per window
THRESHOLD = 3      # login_lockout_threshold


class ThreeInstances(TestCase):

    @classmethod
    def setUpClass(cls):
        env = kamtest.ENV
        extra = {"bulk_read_limit": str(LIMIT), "bulk_read_window": "600",
                 "login_lockout_threshold": str(THRESHOLD), "login_lockout_initial": "60",
                 "login_lockout_max": "60"}
        cls.d = [Kamd(env, name=f"kamd-{n}", extra=extra) for n in "abc"]
        cls.d[0].ensure_gm()
        for d in cls.d:
            d.start()
        gm = kamtest.gm_kam(cls.d[0])
        kamtest.add_users(gm, "ann manager", "bob junior", "cid junior", "dan junior", "eve junior")
        for i in range(LIMIT + 2):
            gm.ok("account", "add", f"eve-{i}", "--tier", "ordinary", "--owner", "eve")
        cls.gm = gm

    def client(self, i, user=None):
        c = RawClient(self.d[i])
        self.addCleanup(c.close)
        if user:
            c.login(user)
        return c

    def code(self, resp):
        return resp.error.code if resp.HasField("error") else pb.ERROR_CODE_OK

    def assertSessionOver(self, cl, token=None):
        """The connection's session is over: its next request is refused, or kamd heard of the
        revocation first (LISTEN/NOTIFY, test_notify.py) and ended the connection with a
        session-ended error (id 0)."""
        try:
            req = cl.send(cl.request("whoami", token=token))
            resp = cl.recv_response()
        except (kamtest.Closed, OSError):
            return
        self.assertIn(resp.id, (0, req.id), resp)
        self.assertEqual(self.code(resp), pb.ERROR_CODE_UNAUTHENTICATED, resp)

    def test_a_session_from_one_instance_works_on_all(self):
        a = self.client(0, "bob")
        for i in (1, 2):
            other = self.client(i)
            resp = other.call("whoami", token=a.token)
            self.assertEqual(self.code(resp), pb.ERROR_CODE_OK, resp)
            self.assertEqual(resp.whoami.user.username, "bob")

    def test_logout_on_one_instance_is_refused_on_the_others(self):
        a = self.client(0, "cid")
        b, c = self.client(1), self.client(2)
        self.assertEqual(self.code(b.call("whoami", token=a.token)), pb.ERROR_CODE_OK)
        self.assertEqual(self.code(c.call("logout", token=a.token)), pb.ERROR_CODE_OK)
        for cl in (a, b):
            self.assertSessionOver(cl, token=a.token)

    def test_deactivation_on_one_instance_cuts_off_every_instance(self):
        sessions = [self.client(i, "dan") for i in range(3)]
        for s in sessions:
            self.assertEqual(self.code(s.call("whoami")), pb.ERROR_CODE_OK)
        gm = self.client(2, GM)
        resp = gm.call("user_deactivate", username="dan", handover_to="ann")
        self.assertEqual(self.code(resp), pb.ERROR_CODE_OK, resp)
        for s in sessions:
            self.assertSessionOver(s)

    def test_failed_passwords_count_across_instances(self):
        # One failure on each instance reaches the threshold together...
        for i in range(THRESHOLD):
            resp = self.client(i % 3).call("login", username="ann", password="wrong password")
            self.assertEqual(self.code(resp), pb.ERROR_CODE_UNAUTHENTICATED, resp)
        # ...so the right password is refused on every instance for now.
        for i in range(3):
            resp = self.client(i).call("login", username="ann", password=PASSWORD)
            self.assertNotEqual(self.code(resp), pb.ERROR_CODE_OK, resp)
        rows = kamtest.ENV.psql("SELECT count(*) FROM audit_log WHERE username = 'ann' AND action = 'login.lockout'")
        self.assertEqual(rows, [["1"]])
        kamtest.ENV.psql("DELETE FROM login_locks WHERE username = 'ann'")

    def test_the_bulk_read_watch_adds_reads_up_across_instances(self):
        sessions = [self.client(i, "eve") for i in range(3)]
        for i in range(LIMIT):
            resp = sessions[i % 3].call("account_show", account=f"eve-{i}")
            self.assertEqual(self.code(resp), pb.ERROR_CODE_OK, resp)
        # The next distinct account is one too many, whichever instance is asked.
        resp = sessions[LIMIT % 3].call("account_show", account=f"eve-{LIMIT}")
        self.assertEqual(self.code(resp), pb.ERROR_CODE_PERMISSION_DENIED, resp)
        for s in sessions:
            resp = s.call("account_show", account="eve-0")
            self.assertEqual(self.code(resp), pb.ERROR_CODE_PERMISSION_DENIED, resp)


if __name__ == "__main__":
    kamtest.main()
