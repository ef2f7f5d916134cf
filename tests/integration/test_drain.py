"""SIGTERM: kamd stops accepting, finishes what is in flight, closes every
connection and exits 0 with a clean sanitizer log (leaks included)."""

import shutil
import signal
import time

import kamtest
from kamtest import (GM, PASSWORD, Closed, Kam, Kamd, RawClient, TestCase, cert_fingerprint, make_cert,
                     setUpModule, tearDownModule)  # noqa: F401

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
        r = kam.run("login", GM, "--password-stdin", stdin=PASSWORD + "\n")   # login always connects
        self.assertOneError(r, 7)

    def test_sighup_reloads_certificate(self):
        env = kamtest.ENV
        cert, key = make_cert(env.tmp, "hup")              # the paths kamd.conf names
        old_cert, _ = make_cert(env.tmp, "hup-old")
        new_cert, new_key = make_cert(env.tmp, "hup-new")
        shutil.copy(cert, old_cert)
        hup = Kamd(env, name="kamd-hup", cert=cert, key=key).start()
        try:
            before = RawClient(hup, ca=old_cert)
            before.login()
            self.assertEqual(before.peer_fingerprint(), cert_fingerprint(old_cert))
            # New files in place, then SIGHUP: new connections get the new certificate ...
            shutil.copy(new_cert, cert)
            shutil.copy(new_key, key)
            off = hup.log_size()
            hup.signal(signal.SIGHUP)
            hup.wait_log("SIGHUP", off)
            with RawClient(hup, ca=new_cert) as after:
                self.assertEqual(after.peer_fingerprint(), cert_fingerprint(new_cert))
                after.login()
            # ... while the connection made before goes on undisturbed.
            self.assertRespOk(before.call("whoami"))
            # A broken file on SIGHUP keeps the current certificate, and the daemon up.
            with open(cert, "w") as f:
                f.write("not a certificate\n")
            off = hup.log_size()
            hup.signal(signal.SIGHUP)
            hup.wait_log("SIGHUP", off)
            self.assertTrue(hup.running)
            with RawClient(hup, ca=new_cert) as still:
                still.login()
            before.close()
        finally:
            hup.stop()

    def test_sigint_also_drains(self):
        self.kamd.signal(signal.SIGINT)
        t0 = time.monotonic()
        self.assertEqual(self.kamd.wait(), 0)
        self.assertLess(time.monotonic() - t0, QUICK)
        self.kamd.check_log()


if __name__ == "__main__":
    kamtest.main()
