"""PostgreSQL black-holed (issue 7): kamd reaches PostgreSQL through a small
TCP proxy that can be paused. Paused, it accepts and holds connections but
forwards nothing either way and sends no RST or FIN, as a hung proxy or a
partitioned network would. Under a light load of reads and writes from several
clients: every request issued during the pause fails with exit 7 within
request_timeout (default 5 s) + 1 s, never a false success, never a hang;
kamd keeps answering what needs no database (a malformed frame, a failing
login); once the proxy resumes, requests succeed again within a few seconds
without restarting kamd, and no acknowledged write is lost.
Short form: an 8 s pause (KAM_BLACKHOLE_S); tests/faults/long.sh runs 30 s."""

import os
import select
import socket
import threading
import time

import kamtest
from kamtest import GM, PASSWORD, Kam, Kamd, RawClient, TestCase, pb, setUpModule, tearDownModule  # noqa: F401

DEFAULT_TIMEOUT_S = 5.0                                   # request_timeout's default (kamd.conf.example)
PAUSE_S = float(os.environ.get("KAM_BLACKHOLE_S", "8"))   # the long form: 30
CLIENTS = int(os.environ.get("KAM_BLACKHOLE_CLIENTS", "4"))
SLACK_S = 1.0             # a failed request's latency may exceed its deadline by this (kam, TLS, ASan)
RECOVER_S = 5.0           # after the resume, a request must succeed within this
LOAD_AROUND_S = 1.5       # the load runs this long before the pause and after the recovery
ISSUE_EVERY_S = 0.5       # during the pause a request is fired this often, besides the clients'
ANSWERED_BEFORE_S = 0.3   # a request answered just before the pause may end this far into it
LISTENER_NOTICES_S = 10.0  # the revocation listener pings every 5 s: a longer hole is noticed (listen.c)
CHUNK = 64 * 1024


class BlackHoleProxy:
    """127.0.0.1:port -> PostgreSQL's Unix socket, one thread, select(). While
    paused nothing is read or written on any connection (the kernel buffers
    fill, nothing is forwarded) and new connections are accepted and held
    without an upstream: a black hole, not a refusal."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(128)
        self.port = self.lsock.getsockname()[1]
        self.paused = False
        self.pairs = []           # [client, upstream or None, bytes to upstream, bytes to client]
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def pause(self):
        self.paused = True

    def resume(self):
        self.paused = False

    def stop(self):
        self.stopping = True
        self.thread.join()
        for p in self.pairs:
            self.close_pair(p)
        self.lsock.close()

    @staticmethod
    def close_pair(p):
        for s in p[:2]:
            if s is not None:
                s.close()

    def accept(self):
        c, _ = self.lsock.accept()
        c.setblocking(False)
        self.pairs.append([c, None, b"", b""])

    def run(self):
        while not self.stopping:
            if self.paused:
                if select.select([self.lsock], [], [], 0.02)[0]:
                    self.accept()
                continue
            for p in self.pairs:
                if p[1] is None:
                    p[1] = socket.socket(socket.AF_UNIX)
                    p[1].connect(self.upstream)
                    p[1].setblocking(False)
            rd = [self.lsock] + [s for p in self.pairs for s in p[:2]]
            wr = [p[1] for p in self.pairs if p[2]] + [p[0] for p in self.pairs if p[3]]
            r, w, _ = select.select(rd, wr, [], 0.02)
            if self.paused:
                continue   # paused while waiting: not one more byte
            if self.lsock in r:
                self.accept()
            for p in list(self.pairs):
                self.pump(p, r, w)

    def pump(self, p, r, w):
        """Move what is readable into the other side's buffer, write what is buffered; a closed side
        closes both once its data is forwarded."""
        try:
            for src, buf in ((0, 2), (1, 3)):
                if p[src] in r:
                    data = p[src].recv(CHUNK)
                    if not data:
                        other = p[1 - src]
                        other.setblocking(True)
                        other.sendall(p[buf])
                        raise ConnectionError("closed")
                    p[buf] += data
            for dst, buf in ((1, 2), (0, 3)):
                if p[buf] and p[dst] in w:
                    n = p[dst].send(p[buf])
                    p[buf] = p[buf][n:]
        except (ConnectionError, OSError):
            self.close_pair(p)
            self.pairs.remove(p)


class Load:
    """Clients, each with its own kam session, alternating a write (account add) and a read
    (account show) until stopped, plus single requests fired on their own (issue()); every
    request's start, end and exit code is recorded."""

    def __init__(self, kamd, clients, prefix):
        self.prefix = prefix
        self.results = []         # (kind, name, start, end, rc, stderr)
        self.stop_ev = threading.Event()
        self.kams = [kamtest.gm_kam(kamd) for _ in range(clients)]
        self.threads = [threading.Thread(target=self.client, args=(n, k)) for n, k in enumerate(self.kams)]
        self.fired = []

    def one(self, k, kind, name):
        args = (("account", "add", name, "--tier", "ordinary") if kind == "write"
                else ("account", "show", f"{self.prefix}seed"))
        t0 = time.monotonic()
        r = k.run(*args)
        self.results.append((kind, name, t0, time.monotonic(), r.rc, r.err))

    def client(self, n, k):
        i = 0
        while not self.stop_ev.is_set():
            name = f"{self.prefix}{n}-{i}"
            self.one(k, "write", name)
            self.one(k, "read", name)
            i += 1

    def issue(self, n):
        """Fire request n on its own thread, now, whatever the clients are waiting for."""
        t = threading.Thread(target=self.one, args=(self.kams[n % len(self.kams)], ("write", "read")[n % 2],
                                                    f"{self.prefix}x-{n}"))
        t.start()
        self.fired.append(t)

    def start(self):
        for t in self.threads:
            t.start()

    def stop(self):
        self.stop_ev.set()
        for t in self.threads + self.fired:
            t.join()


class BlackHole(TestCase):

    def setUp(self):
        env = kamtest.ENV
        self.proxy = BlackHoleProxy(os.path.join(env.pghost, f".s.PGSQL.{env.pgport}"))
        self.addCleanup(self.proxy.stop)

    def kamd(self, name, extra=None):
        """kamd serving through the proxy; migrations (db_admin) go straight to PostgreSQL."""
        env = kamtest.ENV
        db = f"host=127.0.0.1 port={self.proxy.port} dbname={env.dbname} user=kam_app"
        d = Kamd(env, name=name, extra={"db": db, **(extra or {})})
        d.ensure_gm()
        d.start()
        self.addCleanup(d.stop)
        return d

    def black_hole(self, d, timeout_s, pause_s, clients, prefix, during=None):
        """Pause the proxy for pause_s under load, firing a request every ISSUE_EVERY_S as long as
        its deadline falls inside the pause; check what the issue asks; return the numbers."""
        deadline = timeout_s + SLACK_S
        gm = kamtest.gm_kam(d)
        gm.ok("account", "add", f"{prefix}seed", "--tier", "ordinary")
        load = Load(d, clients, prefix)
        probe = kamtest.gm_kam(d)
        side = threading.Thread(target=during) if during else None
        load.start()
        try:
            time.sleep(LOAD_AROUND_S)
            t_pause = time.monotonic()
            self.proxy.pause()
            if side:
                side.start()
            n = 0
            while time.monotonic() + ISSUE_EVERY_S <= t_pause + pause_s - deadline:
                time.sleep(ISSUE_EVERY_S)
                load.issue(n)
                n += 1
            time.sleep(max(0.0, t_pause + pause_s - time.monotonic()))
            t_resume = time.monotonic()
            self.proxy.resume()
            recovered = None
            while time.monotonic() - t_resume < RECOVER_S + 5.0:
                if probe.run("whoami").rc == 0:
                    recovered = time.monotonic() - t_resume
                    break
                time.sleep(0.05)
            time.sleep(LOAD_AROUND_S)
        finally:
            self.proxy.resume()
            load.stop()
            if side:
                side.join()
        res = load.results
        bad = [r for r in res if r[4] not in (0, 7)]
        self.assertEqual(bad, [], "only success or exit 7")
        for kind, name, t0, t1, rc, err in res:
            self.assertLessEqual(t1 - t0, deadline, f"{kind} {name} took {t1 - t0:.2f} s (exit {rc})")
            if rc == 7:
                self.assertIn("kam: error:", err)
        # Finished while PostgreSQL was unreachable: refused, never a false success. (A request
        # answered just before the pause may end a moment into it.)
        inside = [r for r in res if t_pause + ANSWERED_BEFORE_S <= r[3] <= t_resume]
        self.assertEqual([r for r in inside if r[4] != 7], [], "a request succeeded while PostgreSQL was unreachable")
        # Issued during the pause early enough that its deadline fell inside it: failed by then.
        early = [r for r in res if t_pause <= r[2] <= t_resume - deadline]
        self.assertGreaterEqual(len(early), n, "the requests fired during the pause")
        self.assertEqual([r for r in early if r[4] != 7 or r[3] > t_resume], [])
        failed = [r[3] - r[2] for r in res if r[4] == 7]
        self.assertIsNotNone(recovered, "kamd did not serve again after the resume")
        self.assertLessEqual(recovered, RECOVER_S)
        self.assertTrue(any(r[4] == 0 and r[2] > t_resume for r in res), "nothing succeeded after the resume")
        self.check_writes(load)
        stats = (f"{pause_s:.0f} s black hole, request_timeout {timeout_s:.0f} s, {clients} clients: "
                 f"{len(res)} requests, {sum(1 for r in res if r[4] == 0)} ok, {len(failed)} failed (exit 7), "
                 f"max latency of a failed request {max(failed):.2f} s, serving again {recovered:.2f} s "
                 f"after the resume")
        print("\n" + stats)
        return max(failed), stats

    def check_writes(self, load):
        """Acknowledged writes are all there with their audit entry; the others all or nothing."""
        psql = kamtest.ENV.psql
        present = {r[0] for r in psql(f"SELECT name FROM accounts WHERE name LIKE '{load.prefix}%'")}
        writes = [r for r in load.results if r[0] == "write"]
        acked = {r[1] for r in writes if r[4] == 0}
        self.assertTrue(acked)
        self.assertEqual(acked - present, set(), "acknowledged writes lost")
        self.assertLessEqual(present - {f"{load.prefix}seed"}, {r[1] for r in writes}, "accounts nobody sent")
        unaudited = psql(f"SELECT a.name FROM accounts a WHERE a.name LIKE '{load.prefix}%' AND NOT EXISTS "
                         f"(SELECT 1 FROM audit_log l WHERE l.account_id = a.id AND l.action = 'account.add' "
                         f"AND l.result = 'allowed')")
        self.assertEqual(unaudited, [], "accounts without their audit entry")

    def test_default_deadline(self):
        d = self.kamd("kamd-bh")
        with open(d.conf) as f:
            self.assertNotIn("request_timeout", f.read(), "this test is about the default")
        checks = {}

        def during():
            """Runs on its own thread during the pause: records, the test asserts afterwards."""
            # What needs no database is still answered at once: a malformed frame...
            time.sleep(0.5)
            t0 = time.monotonic()
            with RawClient(d) as c:
                c.send_frame(b"\xff\xff\xff")
                checks["malformed_resp"] = c.recv_response()
                checks["malformed_closed"] = c.closed()
            checks["malformed"] = time.monotonic() - t0
            # ...and a login on a new connection fails cleanly, within the deadline.
            t0 = time.monotonic()
            checks["login_result"] = Kam(kamtest.ENV, d).run("login", GM, "--password-stdin", stdin=PASSWORD + "\n")
            checks["login"] = time.monotonic() - t0

        worst, _ = self.black_hole(d, DEFAULT_TIMEOUT_S, PAUSE_S, CLIENTS, "bh", during)
        # The default deadline is 5 s: requests caught in the hole waited for it, and no longer.
        self.assertGreaterEqual(worst, DEFAULT_TIMEOUT_S - 0.5)
        self.assertRespError(checks["malformed_resp"], pb.ERROR_CODE_PROTOCOL)
        self.assertTrue(checks["malformed_closed"])
        self.assertLess(checks["malformed"], 1.0)
        self.assertOneError(checks["login_result"], 7)
        self.assertLessEqual(checks["login"], DEFAULT_TIMEOUT_S + SLACK_S)
        print(f"during it: a malformed frame answered in {checks['malformed']:.2f} s, "
              f"a login refused (exit 7) in {checks['login']:.2f} s")
        log = d.read_log()
        self.assertIn("no answer: nothing from the server for 5000 ms", log)
        if PAUSE_S >= LISTENER_NOTICES_S:
            # The revocation listener noticed too (an unanswered ping) and is back by itself.
            self.assertIn("revocations go unheard", log)
            d.wait_log("listening for revocations again")

    def test_configured_deadline(self):
        d = self.kamd("kamd-bh2", extra={"request_timeout": "2"})
        worst, _ = self.black_hole(d, 2.0, 4.0, 2, "bq")
        self.assertGreaterEqual(worst, 1.5)

    def test_request_timeout_bounds(self):
        env = kamtest.ENV
        for value, ok in (("0", False), ("301", False), ("x", False), ("1", True), ("300", True)):
            d = Kamd(env, name=f"kamd-rt{value}", extra={"request_timeout": value})
            r = d.run("--config", d.conf, "--test")
            if ok:
                self.assertEqual(r.rc, 0, r)
            else:
                self.assertEqual(r.rc, 1, r)
                self.assertIn("request_timeout", r.err)


if __name__ == "__main__":
    kamtest.main()
