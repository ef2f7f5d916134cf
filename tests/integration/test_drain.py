"""SIGTERM: kamd stops accepting, finishes what is in flight, closes every
connection and exits 0 with a clean sanitizer log (leaks included)."""

import signal
import time

import kamtest
from kamtest import GM, PASSWORD, Closed, Kam, Kamd, RawClient, TestCase, pb, setUpModule, tearDownModule  # noqa: F401

QUICK = 5.0   # seconds an idle daemon may take to exit


class Drain(TestCase):

    @classmethod
    def setUpClass(cls):
        cls.kamd = Kamd(kamtest.ENV).ensure_gm()

    def setUp(self):
        self.kamd.start()

    def tearDown(self):
        if self.kamd.running:
            self.kamd.stop()
        super().tearDown()

    def test_idle_exits_quickly(self):
        took = self.kamd.stop()
        self.assertLess(took, QUICK, f"an idle kamd took {took:.1f} s to exit")

    def test_with_connected_clients(self):
        idle = RawClient(self.kamd)
        idle.login()
        fresh = RawClient(self.kamd)   # handshake done, never logged in
        took = self.kamd.stop()
        self.assertLess(took, QUICK, f"took {took:.1f} s with idle clients")
        self.assertTrue(idle.closed(timeout=2), "the logged-in client was disconnected")
        self.assertTrue(fresh.closed(timeout=2), "the unauthenticated client was disconnected")
        idle.close()
        fresh.close()

    def test_in_flight_request_is_answered(self):
        # A daemon with costly argon2 parameters, so a login is surely still hashing
        # on the thread pool when SIGTERM arrives.
        env = kamtest.ENV
        slow = Kamd(env, name="kamd-slowhash", extra={"argon2_memory_kib": "131072", "argon2_iterations": "4"})
        slow.start()
        gm = Kam(env, slow)
        gm.login(GM)
        gm.ok("user", "add", "slowpoke", "--role", "junior", "--password-stdin", stdin=PASSWORD + "\n")
        c = RawClient(slow)
        req = c.send(c.request("login", username="slowpoke", password=PASSWORD))
        time.sleep(0.2)   # let the daemon read it; the hash takes far longer
        slow.signal(signal.SIGTERM)
        got = []
        try:
            while True:
                got.append(c.recv_response())
        except Closed:
            pass
        c.close()
        self.assertEqual(slow.wait(), 0, f"exit code after SIGTERM; log:\n{slow.read_log()[-3000:]}")
        slow.check_log()
        self.assertEqual([r.id for r in got], [req.id], "the in-flight login was answered before the close")
        self.assertRespOk(got[0])
        self.assertEqual(len(got[0].login.token), 32)

    def test_new_connections_refused_after_exit(self):
        self.kamd.stop()
        kam = Kam(kamtest.ENV, self.kamd)
        r = kam.run("whoami")
        self.assertOneError(r, 7)

    def test_sigint_also_drains(self):
        self.kamd.signal(signal.SIGINT)
        t0 = time.monotonic()
        self.assertEqual(self.kamd.wait(), 0)
        self.assertLess(time.monotonic() - t0, QUICK)
        self.kamd.check_log()


if __name__ == "__main__":
    kamtest.main()
