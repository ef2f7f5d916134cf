"""kam on a dropped connection (issue 7): a read whose connection drops before
its answer is sent once more on a new connection, and succeeds; a write is
sent once more too, with the same request key, so kamd applies it once (the
retry answers "already applied"); a read dropped twice fails with exit 7, and
a write dropped twice fails with exit 7 naming its key, which finishes it with
--request-key. A TCP proxy between kam and kamd drops connections: it passes
the TLS handshake (client hello, server's flight, client's finish) and closes
both sides when the answer comes back."""

import json
import re
import socket
import threading

import kamtest
from kamtest import Kam, Kamd, TestCase, setUpModule, tearDownModule  # noqa: F401

REPLAYED = "kam: already applied (the first answer was lost); nothing changed now"


class DroppingProxy:
    """Forwards 127.0.0.1:port to kamd; the first `drops` connections lose their answer."""

    def __init__(self, kamd, drops):
        self.kamd = kamd
        self.drops = drops
        self.connections = 0
        self.dropped = 0
        self.lock = threading.Lock()
        self.srv = socket.create_server(("127.0.0.1", 0))
        self.port = self.srv.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def close(self):
        self.srv.close()

    def accept(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                drop = self.connections <= self.drops
            s = socket.create_connection(("127.0.0.1", self.kamd.port))
            state = {"client_chunks": 0}
            threading.Thread(target=self.pump, args=(c, s, state, "up", drop), daemon=True).start()
            threading.Thread(target=self.pump, args=(s, c, state, "down", drop), daemon=True).start()

    def pump(self, src, dst, state, way, drop):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if way == "up":
                    state["client_chunks"] += 1
                elif drop and state["client_chunks"] >= 2:
                    # kamd sends no session tickets: after the client's finish, what
                    # comes back is the answer. Lose it.
                    with self.lock:
                        self.dropped += 1
                    break
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


class ClientRetry(TestCase):

    @classmethod
    def setUpClass(cls):
        cls.kamd = Kamd(kamtest.ENV).ensure_gm().start()
        gm = kamtest.gm_kam(cls.kamd)
        gm.ok("account", "add", "Acme", "--tier", "top")

    def through(self):
        """A kam logged in through a proxy that drops nothing yet (arm it, then run)."""
        proxy = DroppingProxy(self.kamd, 0)
        self.addCleanup(proxy.close)
        k = Kam(kamtest.ENV, self.kamd, server=f"127.0.0.1:{proxy.port}")
        k.login(kamtest.GM)
        return proxy, k

    def arm(self, proxy, drops):
        proxy.drops, proxy.connections, proxy.dropped = drops, 0, 0

    def version(self):
        return int(kamtest.ENV.psql("SELECT version FROM accounts WHERE name = 'Acme'")[0][0])

    def test_a_read_is_retried_once_and_succeeds(self):
        proxy, k = self.through()
        for args in (("account", "show", "Acme"), ("account", "list"), ("whoami",)):
            self.arm(proxy, 1)
            r = k.run(*args)
            self.assertSuccess(r)
            self.assertEqual(r.err, "")
            self.assertEqual((proxy.connections, proxy.dropped), (2, 1), args)
        self.assertIn("Acme", k.run("account", "show", "Acme").out)

    def keys(self):
        return int(kamtest.ENV.psql("SELECT count(*) FROM request_keys")[0][0])

    def test_a_write_is_retried_once_with_its_key(self):
        proxy, k = self.through()
        before, keys = self.version(), self.keys()
        self.arm(proxy, 1)
        r = k.run("account", "set", "Acme", "notes=sent twice, applied once")
        # The first attempt was applied and its answer lost; the retry, with the same key, says so.
        self.assertEqual((r.rc, r.out, r.err), (0, "", REPLAYED + "\n"))
        self.assertEqual((proxy.connections, proxy.dropped), (2, 1))
        self.assertEqual(self.version(), before + 1)
        self.assertEqual(self.keys(), keys + 1, "one key, claimed once")
        # A new row, the same: one barrier.
        self.arm(proxy, 1)
        r = k.run("barrier", "add", "Acme", "--kind", "other", "dropped barrier")
        self.assertEqual((r.rc, r.err), (0, REPLAYED + "\n"))
        self.assertEqual(kamtest.ENV.psql("SELECT count(*) FROM barriers WHERE description = 'dropped barrier'"),
                         [["1"]])
        self.assertEqual(kamtest.ENV.psql("SELECT count(*) FROM audit_log WHERE action = 'barrier.add' "
                                          "AND detail::text LIKE '%dropped barrier%'"), [["1"]])

    def test_a_write_dropped_twice_names_its_key(self):
        proxy, k = self.through()
        before = self.version()
        self.arm(proxy, 2)
        r = k.run("account", "set", "Acme", "notes=dropped twice")
        self.assertOneError(r, 7, "closed the connection", "may or may not have been applied", "--request-key")
        self.assertEqual((proxy.connections, proxy.dropped), (2, 2))
        self.assertEqual(self.version(), before + 1)   # it reached kamd, and was applied once
        key = re.search(r"--request-key ([0-9a-f]{32})\b", r.err).group(1)
        # Finishing it with that key changes nothing more ...
        r = k.run("account", "set", "Acme", "notes=dropped twice", globals_=("--request-key", key))
        self.assertEqual((r.rc, r.err), (0, REPLAYED + "\n"))
        self.assertEqual(self.version(), before + 1)
        # ... and --json carries the key in the error too.
        self.arm(proxy, 2)
        r = k.run("account", "set", "Acme", "notes=dropped twice again", json=True)
        self.assertEqual(r.rc, 7)
        err = json.loads(r.out)["error"]
        self.assertEqual(err["code"], "unavailable")
        self.assertRegex(err["request_key"], r"^[0-9a-f]{32}$")
        self.assertIn(err["request_key"], r.err)
        self.assertEqual(self.version(), before + 2)

    def test_a_login_is_never_sent_twice(self):
        proxy, k = self.through()
        sessions = int(kamtest.ENV.psql("SELECT count(*) FROM sessions")[0][0])
        self.arm(proxy, 1)
        r = k.run("login", kamtest.GM, "--password-stdin", stdin=kamtest.PASSWORD + "\n")
        self.assertOneError(r, 7, "closed the connection")
        self.assertNotIn("request-key", r.err)
        self.assertEqual((proxy.connections, proxy.dropped), (1, 1))
        self.assertEqual(int(kamtest.ENV.psql("SELECT count(*) FROM sessions")[0][0]), sessions + 1)

    def test_a_read_dropped_twice_fails_clearly(self):
        proxy, k = self.through()
        self.arm(proxy, 2)
        r = k.run("account", "show", "Acme")
        self.assertOneError(r, 7, "closed the connection")
        self.assertEqual((proxy.connections, proxy.dropped), (2, 2))


if __name__ == "__main__":
    kamtest.main()
