"""db_listen (issue 7): the revocation listener's own conninfo, for a `db` that goes
through a pooler which cannot carry LISTEN. With it, revocations still close idle
connections at once; pointed somewhere dead, the pool serves on and the listener
says it cannot connect (the per-request check still refuses); a host given by name
is refused at start, since kamd looks no name up for it."""

import time

import kamtest
from kamtest import GM, PASSWORD, Kamd, RawClient, TestCase, pb, setUpModule, tearDownModule  # noqa: F401


class ListenConninfo(TestCase):

    @classmethod
    def setUpClass(cls):
        env = kamtest.ENV
        cls.good = Kamd(env, name="kamd-listen", extra={"db_listen": env.conninfo("kam_app")}).ensure_gm().start()
        cls.gm = kamtest.gm_kam(cls.good)
        kamtest.add_users(cls.gm, "lm manager", "lj1 junior lm", "lj2 junior lm")

    def hold(self, kamd, user):
        c = RawClient(kamd)
        self.addCleanup(c.close)
        c.login(user)
        self.assertRespOk(c.call("whoami"))
        return c

    def test_revocation_heard_through_db_listen(self):
        self.good.wait_log("listening for revocations", timeout=10)
        c = self.hold(self.good, "lj1")
        self.gm.ok("user", "deactivate", "lj1", "--handover-to", "lm")
        c.tls.settimeout(5.0)
        resp = c.recv_response()   # unasked: the id-0 "session ended"
        self.assertEqual(resp.id, 0, resp)
        self.assertRespError(resp, pb.ERROR_CODE_UNAUTHENTICATED)
        self.assertIn("session ended", resp.error.message)
        self.assertTrue(c.closed())

    def test_dead_db_listen_leaves_the_pool_serving(self):
        env = kamtest.ENV
        dead = Kamd(env, name="kamd-deadlisten",
                    extra={"db_listen": f"host=127.0.0.1 port={kamtest.free_port()} dbname={env.dbname} "
                                        f"user=kam_app connect_timeout=2"}).start()
        try:
            dead.wait_log("db[listen]", timeout=10)
            c = self.hold(dead, "lj2")
            self.assertRespOk(c.call("account_list"))
            # Unheard: the connection stays open, but its next request is refused.
            kamtest.ENV.psql("UPDATE sessions SET revoked_at = now() WHERE revoked_at IS NULL AND user_id = "
                             "(SELECT id FROM users WHERE username = 'lj2')")
            time.sleep(0.5)
            self.assertRespError(c.call("whoami"), pb.ERROR_CODE_UNAUTHENTICATED)
        finally:
            dead.stop()

    def test_db_listen_by_host_name_refused_at_start(self):
        env = kamtest.ENV
        bad = Kamd(env, name="kamd-namedlisten",
                   extra={"db_listen": f"host=localhost port={env.pgport} dbname={env.dbname} user=kam_app"})
        r = bad.run("--config", bad.conf)   # in the foreground: it must not get as far as serving
        self.assertNotEqual(r.rc, 0, f"{r}")
        self.assertIn("db_listen must name its hosts by address or socket path", r.err)


if __name__ == "__main__":
    kamtest.main()
