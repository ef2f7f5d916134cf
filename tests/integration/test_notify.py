"""Revocations heard at once (issue 7): three kamd instances on one database,
each LISTENing on kam_revoke (server/db/listen.c, deploy/sql/0007_notify.sql).
A deactivation, a logout or a password change made through one instance
closes the revoked session's idle connections on every instance within 1 s,
the client sending nothing: one UNAUTHENTICATED error with id 0, then EOF.
Only those close: other users' and the same user's other sessions stay open.
A notification with a payload that is not ours is logged and ignored. When
the listener's backend is killed it reconnects; while it cannot, nothing is
closed early but every request of a revoked session is still refused (the
session check), and once it is back revocations close connections again."""

import os
import socket
import time

import kamtest
from kamtest import GM, PASSWORD, Closed, Kam, Kamd, RawClient, TestCase, pb, setUpModule, tearDownModule  # noqa: F401

CLOSE_WITHIN_S = 1.0
READY = "listening for revocations"
NEW_PASSWORD = "a brand new passphrase"


def token_of(kam):
    """The session token kam keeps for its server ("HOST:PORT hex-token" lines, client/state.c)."""
    server = f"127.0.0.1:{kam.kamd.port}"
    with open(os.path.join(kam.state_dir, "sessions")) as f:
        for line in f:
            host, _, token = line.strip().partition(" ")
            if host == server:
                return bytes.fromhex(token)
    raise AssertionError(f"no session for {server} in {kam.state_dir}")


class Revocations(TestCase):

    @classmethod
    def setUpClass(cls):
        env = kamtest.ENV
        cls.d = [Kamd(env, name=f"kamd-{n}") for n in "abc"]
        cls.d[0].ensure_gm()
        for d in cls.d:
            d.start()
            d.wait_log(READY)
        cls.gm = kamtest.gm_kam(cls.d[0])
        kamtest.add_users(cls.gm, "boss manager", "dan junior", "eve junior", "fay junior", "gus junior",
                          "hal junior", "ida junior", "jon junior", "kim junior")

    def hold(self, i, user=None, token=None):
        """An idle authenticated connection to instance i, logged in as user or made with token (the
        whoami is the session check that tells kamd whose connection it is)."""
        c = RawClient(self.d[i])
        self.addCleanup(c.close)
        if user:
            c.login(user)
        elif token:
            c.token = token
        self.assertRespOk(c.call("whoami"))
        return c

    def kam(self, user, password=PASSWORD):
        k = Kam(kamtest.ENV, self.d[0])
        k.login(user, password)
        return k

    def assertClosedSoon(self, conns, since, issued=None):
        """Each connection, without sending anything, gets the session-ended error (id 0) and then
        EOF within CLOSE_WITHIN_S of since (the revoking command's answer). Returns the slowest, in
        seconds from issued (the command's start: kam itself included), for the record."""
        slowest = 0.0
        for c in conns:
            c.tls.settimeout(max(0.05, since + CLOSE_WITHIN_S - time.monotonic()))
            try:
                resp = c.recv_response()
            except (TimeoutError, socket.timeout):
                self.fail(f"still open {CLOSE_WITHIN_S} s after the revocation")
            except Closed:
                self.fail("closed without the session-ended error")
            self.assertEqual(resp.id, 0, resp)
            self.assertRespError(resp, pb.ERROR_CODE_UNAUTHENTICATED)
            self.assertIn("session ended", resp.error.message)
            self.assertTrue(c.closed(max(0.05, since + CLOSE_WITHIN_S - time.monotonic())), "no EOF after the error")
            slowest = max(slowest, time.monotonic() - (issued or since))
        return slowest

    def assertOpen(self, conns):
        for c in conns:
            c.tls.settimeout(10.0)
            self.assertRespOk(c.call("whoami"))

    def assertRefused(self, conns):
        """The safety net: the session check refuses the next request."""
        for c in conns:
            c.tls.settimeout(10.0)
            self.assertRespError(c.call("whoami"), pb.ERROR_CODE_UNAUTHENTICATED)

    def test_deactivation_closes_the_users_connections_on_every_instance(self):
        dan = [self.hold(i, "dan") for i in range(3)]
        others = [self.hold(i, "eve") for i in (1, 2)] + [self.hold(2, GM)]
        t0 = time.monotonic()
        self.gm.ok("user", "deactivate", "dan", "--handover-to", "boss")
        took = self.assertClosedSoon(dan, time.monotonic(), t0)
        print(f"\ndeactivation: dan's 3 connections closed {took:.3f} s after kam was started")
        self.assertOpen(others)
        self.assertIn("revoked: 1 connection closed", self.d[1].read_log())

    def test_logout_closes_that_session_only(self):
        k = self.kam("fay")
        session = [self.hold(i, token=token_of(k)) for i in (1, 2)]
        other = self.hold(1, "fay")
        others = [other, self.hold(2, token=other.token)]
        t0 = time.monotonic()
        self.assertSuccess(k.run("logout"))
        took = self.assertClosedSoon(session, time.monotonic(), t0)
        print(f"\nlogout: the session's 2 connections closed {took:.3f} s after kam was started")
        self.assertOpen(others)

    def test_login_only_connection_closes_on_its_sessions_revocation(self):
        # Logged in and nothing else: the login itself told kamd the session's id.
        c = RawClient(self.d[1])
        self.addCleanup(c.close)
        c.login("hal")
        sid = kamtest.ENV.psql("SELECT max(s.id) FROM sessions s JOIN users u ON u.id = s.user_id "
                               "WHERE u.username = 'hal'")[0][0]
        kamtest.ENV.psql(f"UPDATE sessions SET revoked_at = now() WHERE id = {sid}")
        self.assertClosedSoon([c], time.monotonic())

    def test_own_logout_keeps_the_connection(self):
        """The connection that logs out is not closed by its own revocation: it may log in again."""
        c = self.hold(1, "kim")
        self.assertRespOk(c.call("logout"))
        time.sleep(CLOSE_WITHIN_S / 2)
        c.token = b""
        c.login("kim")
        self.assertRespOk(c.call("whoami"))

    def test_password_change_closes_the_other_sessions(self):
        k = self.kam("gus")
        mine = self.hold(2, token=token_of(k))
        other = self.hold(1, "gus")
        theirs = [other, self.hold(2, token=other.token)]
        t0 = time.monotonic()
        r = k.ok("user", "passwd", "--password-stdin", stdin=f"{PASSWORD}\n{NEW_PASSWORD}\n")
        self.assertIn("1 other session ended", r.out)
        took = self.assertClosedSoon(theirs, time.monotonic(), t0)
        print(f"\npassword change: the other session's 2 connections closed {took:.3f} s after kam was started")
        self.assertOpen([mine])

    def test_foreign_payloads_are_logged_and_ignored(self):
        hal = [self.hold(i, "hal") for i in range(3)]
        sizes = [d.log_size() for d in self.d]
        junk = ["garbage", "", "session:", "user:", "session:abc", "session:-5", "user:0", "session:012",
                "user:99999999999999999999", "session:1 ", "session:1;user:2", "sessions:1", "ses\tsion:1"]
        for p in junk:
            kamtest.ENV.psql(f"SELECT pg_notify('kam_revoke', '{p}')")
        # A well-formed notice naming nobody's session closes nothing and says nothing.
        kamtest.ENV.psql("SELECT pg_notify('kam_revoke', 'session:999999999')")
        for d, size in zip(self.d, sizes):
            d.wait_log("is neither session:ID nor user:ID", offset=size)
            deadline = time.monotonic() + 5.0
            while d.read_log(size).count("ignored a kam_revoke notification") < len(junk):
                self.assertLess(time.monotonic(), deadline, d.read_log(size))
                time.sleep(0.05)
            self.assertNotIn("revoked:", d.read_log(size))
        self.assertOpen(hal)
        self.assertSuccess(self.gm.run("whoami"))

    def test_listener_down_then_back(self):
        env = kamtest.ENV
        listeners = ("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                     "AND query = 'LISTEN kam_revoke'")
        self.assertEqual(len(env.psql(listeners)), 3, "one listening connection per instance")
        # Keep the listeners from coming back: the database takes no connection beyond the pools'.
        pools = env.psql("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                         "AND application_name = 'kamd' AND query <> 'LISTEN kam_revoke'")[0][0]
        env.psql(f"ALTER DATABASE {env.dbname} CONNECTION LIMIT {pools}", db="postgres")
        self.addCleanup(env.psql, f"ALTER DATABASE {env.dbname} CONNECTION LIMIT -1", db="postgres")
        sizes = [d.log_size() for d in self.d]
        killed = env.psql(f"SELECT pg_terminate_backend(pid) FROM ({listeners}) l")
        self.assertEqual(killed, [["t"]] * 3)
        for d, size in zip(self.d, sizes):
            d.wait_log("revocations go unheard", offset=size)
        # Nothing hears the deactivation, so nothing is closed early; every request is still refused.
        ida = [self.hold(i, "ida") for i in (1, 2)]
        self.gm.ok("user", "deactivate", "ida", "--handover-to", "boss")
        time.sleep(CLOSE_WITHIN_S)
        self.assertRefused(ida)
        # Back: the listeners reconnect by themselves, and revocations close connections again.
        env.psql(f"ALTER DATABASE {env.dbname} CONNECTION LIMIT -1", db="postgres")
        for d, size in zip(self.d, sizes):
            d.wait_log("listening for revocations again", offset=size)
        jon = [self.hold(i, "jon") for i in range(3)]
        self.gm.ok("user", "deactivate", "jon", "--handover-to", "boss")
        self.assertClosedSoon(jon, time.monotonic())
        self.assertEqual(len(env.psql(listeners)), 3)


if __name__ == "__main__":
    kamtest.main()
