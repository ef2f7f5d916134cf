"""Hostile clients (issue 6): every input and resource limit against the real
daemon. Before login only a login or a hello; frame limits as configured;
repeated fields capped; slowloris connections closed; per-address and total
connection limits with the file descriptors back to their baseline; a client
that never reads cannot grow the daemon; a reset mid-request leaves nothing
open in PostgreSQL; password hashing is bounded by the thread pool."""

import resource
import socket
import ssl
import struct
import time

import kamtest
from kamtest import (GM, PASSWORD, Kam, Kamd, RawClient, TestCase, gm_kam, pb, proc_fds, proc_status_kib,
                     setUpModule, tearDownModule)  # noqa: F401

HDR = struct.Struct(">I")
MIB = 1024 * 1024
# The harness's sanitizer options without ASan's quarantine, for the tests that measure memory.
NO_QUARANTINE = "detect_leaks=1:abort_on_error=1:quarantine_size_mb=0:thread_local_quarantine_size_kb=0"


def wait_until(pred, timeout, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


class Gate(TestCase):
    """Before login, only a login or a request with a token (the hello)."""

    @classmethod
    def setUpClass(cls):
        cls.kamd = Kamd(kamtest.ENV).ensure_gm().start()
        gm_kam(cls.kamd).ok("account", "add", "Gate Corp", "--tier", "important")

    def client(self, **kw):
        c = RawClient(self.kamd, **kw)
        self.addCleanup(c.close)
        return c

    def test_tokenless_request_first_is_answered_then_closed(self):
        for body, fields in (("whoami", {}), ("account_show", {"account": "Gate Corp"}), ("user_list", {})):
            c = self.client()
            resp = c.call(body, **fields)
            self.assertRespError(resp, pb.ERROR_CODE_UNAUTHENTICATED)
            self.assertIn("only a login", resp.error.message)
            self.assertTrue(c.closed(), f"{body} before login closes the connection")

    def test_invalid_non_login_first_closes_invalid_login_does_not(self):
        c = self.client()
        self.assertRespError(c.call("account_add", name="", tier=pb.TIER_TOP), pb.ERROR_CODE_INVALID_ARGUMENT)
        self.assertTrue(c.closed())
        c = self.client()
        self.assertRespError(c.call("login", username="", password=PASSWORD), pb.ERROR_CODE_INVALID_ARGUMENT,
                             field="username")
        self.assertRespOk(c.login())

    def test_hello_then_large_request_pipelined(self):
        # The hello (a request with a token) authenticates the connection before the next
        # frame is cut, so a request above the pre-login limit may follow it at once.
        first = self.client()
        first.login()
        c = self.client()
        c.token = first.token
        notes = "h" * 8000
        hello = c.send(c.request("whoami"))
        big = c.send(c.request("account_set", account="Gate Corp", fields=[pb.FieldValue(name="notes", value=notes)]))
        got = {r.id: r for r in (c.recv_response(), c.recv_response())}
        self.assertEqual(set(got), {hello.id, big.id})
        self.assertRespOk(got[hello.id])
        self.assertRespOk(got[big.id])
        self.assertEqual(got[big.id].account_set.account.info.notes, notes)

    def test_bad_hello_keeps_connection_for_a_login(self):
        c = self.client()
        self.assertRespError(c.call("whoami", token=b"\x02" * 32), pb.ERROR_CODE_UNAUTHENTICATED)
        self.assertRespOk(c.login())
        self.assertRespOk(c.call("whoami"))

    def test_repeated_fields_capped_at_1000(self):
        c = self.client()
        c.login()
        fields = [pb.FieldValue(name="notes", value="x") for _ in range(1001)]
        resp = c.call("account_set", account="Gate Corp", fields=fields)
        self.assertRespError(resp, pb.ERROR_CODE_INVALID_ARGUMENT, field="fields")
        self.assertIn("1000", resp.error.message)
        # 1000 pass the codec; the handler then refuses the repeated name (another field).
        resp = c.call("account_set", account="Gate Corp", fields=fields[:1000])
        self.assertRespError(resp, pb.ERROR_CODE_INVALID_ARGUMENT)
        self.assertNotEqual(resp.error.field, "fields")
        # Enums and required fields, and the connection stays.
        self.assertRespError(c.call("account_list", tier=77), pb.ERROR_CODE_INVALID_ARGUMENT, field="tier")
        self.assertRespError(c.call("account_show"), pb.ERROR_CODE_INVALID_ARGUMENT, field="account")
        self.assertRespOk(c.call("whoami"))


class FrameLimits(TestCase):
    """max_frame_prelogin and max_frame are configuration, checked from the header."""

    @classmethod
    def setUpClass(cls):
        cls.kamd = Kamd(kamtest.ENV, name="kamd-frames",
                        extra={"max_frame_prelogin": "2048", "max_frame": "8192"}).ensure_gm().start()

    def client(self):
        c = RawClient(self.kamd)
        self.addCleanup(c.close)
        return c

    def assertClosedWithProtocolError(self, c):
        resp = c.recv_response()
        self.assertEqual(resp.id, 0)
        self.assertRespError(resp, pb.ERROR_CODE_PROTOCOL)
        self.assertTrue(c.closed())

    def test_prelogin_limit(self):
        from test_protocol import pad_field
        c = self.client()
        req = c.request("login", username=GM, password=PASSWORD).SerializeToString()
        c.send_frame(req + pad_field(2048 - len(req)))
        self.assertRespOk(c.recv_response())
        c = self.client()
        c.send_raw(HDR.pack(2049))   # the header alone is enough to refuse
        self.assertClosedWithProtocolError(c)

    def test_postlogin_limit(self):
        from test_protocol import pad_field
        c = self.client()
        c.login()
        req = c.request("whoami").SerializeToString()
        c.send_frame(req + pad_field(8192 - len(req)))
        self.assertRespOk(c.recv_response())
        c.send_raw(HDR.pack(8193))
        self.assertClosedWithProtocolError(c)


class Slowloris(TestCase):
    """A connection that has not finished TLS and login within login_timeout is closed."""

    @classmethod
    def setUpClass(cls):
        env = kamtest.ENV
        cls.quick = Kamd(env, name="kamd-slow", extra={"login_timeout": "2"}).ensure_gm().start()
        cls.default = Kamd(env, name="kamd-default").start()

    def closed_after(self, kamd, feed):
        """Seconds until kamd closes a raw TCP connection that feed(sock) keeps busy."""
        s = socket.create_connection(("127.0.0.1", kamd.port), timeout=30)
        self.addCleanup(s.close)
        t0 = time.monotonic()
        s.settimeout(0.25)
        while time.monotonic() - t0 < 30:
            try:
                feed(s, time.monotonic() - t0)
            except OSError:   # already closed under us
                return time.monotonic() - t0
            try:
                if s.recv(4096) == b"":
                    return time.monotonic() - t0
            except socket.timeout:
                continue
            except ConnectionResetError:
                return time.monotonic() - t0
        self.fail("never closed")

    def test_silent_tcp(self):
        took = self.closed_after(self.quick, lambda s, t: None)
        self.assertGreaterEqual(took, 1.5)
        self.assertLess(took, 4.5)

    def test_trickled_handshake(self):
        # A real ClientHello, one byte every 0.2 s: the handshake never completes in time.
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
        try:
            obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        hello = out.read()
        self.assertGreater(len(hello), 100)
        sent = [0]

        def feed(s, t):
            if sent[0] < len(hello) and t >= sent[0] * 0.2:
                s.sendall(hello[sent[0]:sent[0] + 1])
                sent[0] += 1

        took = self.closed_after(self.quick, feed)
        self.assertLess(sent[0], len(hello), "the whole hello was sent: not a slowloris")
        self.assertLess(took, 4.5)

    def test_default_is_10_seconds(self):
        took = self.closed_after(self.default, lambda s, t: None)
        self.assertGreaterEqual(took, 9.0)
        self.assertLess(took, 13.0)


class Connections(TestCase):
    """64 per client address (then BUSY), 1024 in all, and nothing left behind."""

    @classmethod
    def setUpClass(cls):
        env = kamtest.ENV
        # Default per-address limit; long login_timeout so held connections stay.
        cls.kamd = Kamd(env, name="kamd-conns", extra={"login_timeout": "120"}).ensure_gm().start()
        cls.small = Kamd(env, name="kamd-small", extra={"max_connections": "3", "login_timeout": "120"}).start()

    def fds(self, kamd):
        return proc_fds(kamd.proc.pid)

    def settle(self, kamd, want):
        ok = wait_until(lambda: self.fds(kamd) == want, 10)
        self.assertTrue(ok, f"file descriptors {self.fds(kamd)}, baseline {want}")

    def assertBusy(self, c, mention):
        resp = c.recv_response()
        self.assertEqual(resp.id, 0)
        self.assertRespError(resp, pb.ERROR_CODE_BUSY)
        self.assertIn(mention, resp.error.message)
        self.assertTrue(c.closed())
        return resp.error.message

    def test_per_address_limit(self):
        baseline = self.fds(self.kamd)
        held = []
        try:
            for _ in range(64):
                held.append(RawClient(self.kamd, source="127.0.0.2"))
            self.assertEqual(self.fds(self.kamd), baseline + 64)
            extra = RawClient(self.kamd, source="127.0.0.2")
            held.append(extra)
            self.assertBusy(extra, "too many connections from your address")
            # Other addresses are not affected, nor are the held connections.
            with RawClient(self.kamd, source="127.0.0.3") as other:
                self.assertRespOk(other.login())
            self.assertSuccess(Kam(kamtest.ENV, self.kamd).login(GM))
            self.assertRespOk(held[0].login())
            # A freed slot is usable again.
            held.pop(0).close()
            self.assertTrue(wait_until(lambda: self.fds(self.kamd) == baseline + 63, 5))
            again = RawClient(self.kamd, source="127.0.0.2")
            held.append(again)
            self.assertRespOk(again.login())
        finally:
            for c in held:
                c.close()
        self.settle(self.kamd, baseline)
        self.assertIn("too many connections from your address", self.kamd.read_log())

    def test_default_total_limit_1024(self):
        # The defaults: 1024 connections (16 addresses x 64), then BUSY from a 17th address.
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < 1200:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
        baseline = self.fds(self.kamd)
        held = []
        try:
            for a in range(16):
                held += [RawClient(self.kamd, source=f"127.0.30.{a + 1}") for _ in range(64)]
            self.assertEqual(self.fds(self.kamd), baseline + 1024)
            extra = RawClient(self.kamd, source="127.0.30.17")
            held.append(extra)
            self.assertNotIn("address", self.assertBusy(extra, "server busy: too many connections"))
            self.assertRespOk(held[0].login())
        finally:
            for c in held:
                c.close()
        self.settle(self.kamd, baseline)

    def test_total_limit_and_fds(self):
        baseline = self.fds(self.small)
        held = [RawClient(self.small, source=f"127.0.0.{4 + i}") for i in range(3)]
        try:
            for _ in range(5):
                c = RawClient(self.small, source="127.0.0.9")
                self.assertBusy(c, "too many connections")
                c.close()
            self.assertRespOk(held[0].login())
        finally:
            for c in held:
                c.close()
        self.settle(self.small, baseline)


def kernel_tcp_buffer_max():
    """The most a loopback connection's send and receive buffers can hold (tcp_wmem, tcp_rmem)."""
    total = 0
    for name in ("tcp_wmem", "tcp_rmem"):
        with open(f"/proc/sys/net/ipv4/{name}") as f:
            total += int(f.read().split()[2])
    return total


class Backpressure(TestCase):
    """A client that sends and never reads is paused, and the daemon's memory stays bounded."""

    @classmethod
    def setUpClass(cls):
        env = kamtest.ENV
        # No ASan quarantine: freed memory is reused at once, so the resident size measures
        # what kamd holds, not what the sanitizer keeps of what it freed.
        cls.kamd = Kamd(env, name="kamd-bp", child_env_extra={"ASAN_OPTIONS": NO_QUARANTINE}).ensure_gm().start()
        cls.kam = gm_kam(cls.kamd)
        cls.kam.ok("account", "add", "Heavy Corp", "--tier", "important")
        cls.kam.ok("account", "set", "Heavy Corp", "notes=" + "b" * 8000)

    def test_never_reading_client(self):
        pid = self.kamd.proc.pid
        c = RawClient(self.kamd)
        self.addCleanup(c.close)
        c.login()
        frame = c.request("account_show", account="Heavy Corp").SerializeToString()
        chunk = (HDR.pack(len(frame)) + frame) * 200     # 200 requests, 1.6 MB of answers
        rss0 = proc_status_kib(pid, "VmRSS")
        c.tls.setblocking(False)
        sent, stalled_since = 0, None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                sent += c.tls.send(chunk)
                stalled_since = None
            except (ssl.SSLWantWriteError, BlockingIOError):
                stalled_since = stalled_since or time.monotonic()
                if time.monotonic() - stalled_since > 2:
                    break
                time.sleep(0.05)
        self.assertIsNotNone(stalled_since, "kamd read everything: no backpressure")
        # Only what the kernel buffers hold got in (as large as this machine lets them grow),
        # and the few requests kamd took before it stopped reading.
        buffers = kernel_tcp_buffer_max()
        self.assertLess(sent, buffers + 8 * MIB, f"{sent} bytes accepted, the kernel buffers hold {buffers}")
        grown, answered = self.settled_growth(pid, rss0, 24 * MIB)
        print(f"\nnever-reading client: {sent / MIB:.1f} MiB of requests accepted, {answered} answered, "
              f"kamd grew {grown / MIB:.1f} MiB", flush=True)
        self.assertLess(grown, 24 * MIB, f"kamd grew by {grown} bytes ({answered} requests answered)")
        # Everyone else is served meanwhile.
        with RawClient(self.kamd) as other:
            other.login()
            self.assertEqual(other.call("account_show", account="Heavy Corp").account_show.account.name,
                             "Heavy Corp")
        self.assertSuccess(self.kam.run("whoami"))

    def settled_growth(self, pid, rss0, bound, quiet=2.0, timeout=120.0):
        """kamd's growth once it has answered all it took (no new account.show entry for quiet
        seconds), however slow a loaded machine makes it; or as soon as it reaches bound: a
        kamd that keeps reading answers everything the kernel buffers hold and gets there."""
        sql = ("SELECT count(*) FROM audit_log WHERE action = 'account.show' "
               "AND account_id = (SELECT id FROM accounts WHERE name = 'Heavy Corp')")

        def answered():
            return int(kamtest.ENV.psql(sql)[0][0])

        last, since = None, time.monotonic()
        deadline = since + timeout
        while True:
            grown = (proc_status_kib(pid, "VmRSS") - rss0) * 1024
            n = answered()
            now = time.monotonic()
            if grown >= bound:
                return grown, n
            if n != last:
                last, since = n, now
            elif now - since >= quiet:
                return grown, n
            self.assertLess(now, deadline, f"kamd still answers a client that never reads after {timeout} s")
            time.sleep(0.1)


class Resets(TestCase):
    """A client that resets mid-request leaves no transaction open in PostgreSQL."""

    @classmethod
    def setUpClass(cls):
        cls.kamd = Kamd(kamtest.ENV, name="kamd-rst").ensure_gm().start()
        gm_kam(cls.kamd).ok("account", "add", "Reset Corp", "--tier", "important")

    def reset(self, c):
        """Close with RST (SO_LINGER 0), not a FIN: the peer is simply gone."""
        c.tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.tls.close()

    def test_reset_mid_request(self):
        env = kamtest.ENV
        for i in range(5):
            c = RawClient(self.kamd)
            c.login()
            for k in range(20):
                c.send(c.request("account_set", account="Reset Corp",
                                 fields=[pb.FieldValue(name="headcount", value=str(i * 100 + k))]))
                c.send(c.request("account_show", account="Reset Corp"))
            self.reset(c)
            # A login mid-check: the throttle's gate and argon2 in flight.
            c = RawClient(self.kamd)
            c.send(c.request("login", username=GM, password=PASSWORD))
            self.reset(c)
            # And a failing one (an unknown name: no lockout for anyone else here).
            c = RawClient(self.kamd, source="127.0.0.50")
            c.send(c.request("login", username=f"ghost{i}", password="wrong password"))
            self.reset(c)
        with RawClient(self.kamd) as ok:
            ok.login()
            self.assertRespOk(ok.call("account_show", account="Reset Corp"))
        where = f"application_name = 'kamd' AND datname = '{env.dbname}'"
        q_tx = f"SELECT count(*) FROM pg_stat_activity WHERE {where} AND state LIKE 'idle in transaction%'"
        q_locks = ("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                   f"WHERE a.application_name = 'kamd' AND a.datname = '{env.dbname}' AND l.locktype = 'advisory'")
        self.assertTrue(wait_until(lambda: env.psql(q_tx, db="postgres") == [["0"]], 10),
                        "a transaction was left open")
        self.assertTrue(wait_until(lambda: env.psql(q_locks, db="postgres") == [["0"]], 10),
                        "an advisory lock was left held")
        self.assertGreater(int(env.psql(f"SELECT count(*) FROM pg_stat_activity WHERE {where}",
                                        db="postgres")[0][0]), 0)


class Hashing(TestCase):
    """At most hash_threads argon2id hashes at once: a login storm costs that much memory."""

    M_KIB = 65536  # the production default: 64 MiB per hash

    def storm(self, threads, n=16):
        env = kamtest.ENV
        # No ASan quarantine here: freed argon2 memory goes back at once, so the peak
        # resident size shows how many hashes really ran together.
        kamd = Kamd(env, name=f"kamd-hash{threads}",
                    extra={"argon2_memory_kib": str(self.M_KIB), "argon2_iterations": "1",
                           "hash_threads": str(threads)},
                    child_env_extra={"ASAN_OPTIONS": NO_QUARANTINE})
        kamd.ensure_gm().start()
        try:
            kamd.wait_log(f"password hashing: at most {threads} at once")
            pid = kamd.proc.pid
            rss0 = proc_status_kib(pid, "VmRSS")
            # Names of nobody, each from its own address: every one costs a full (dummy) hash,
            # none waits for another's name, and no address reaches its failure limit.
            clients = [RawClient(kamd, timeout=60, source=f"127.0.{10 + threads}.{i + 1}") for i in range(n)]
            try:
                for i, c in enumerate(clients):
                    c.send(c.request("login", username=f"storm{i}", password=PASSWORD))
                for c in clients:
                    resp = c.recv_response()
                    self.assertRespError(resp, pb.ERROR_CODE_UNAUTHENTICATED)
                    self.assertEqual(resp.error.message, "wrong user name or password")
            finally:
                for c in clients:
                    c.close()
            return (proc_status_kib(pid, "VmHWM") - rss0) / 1024
        finally:
            kamd.stop()

    def test_login_storm_memory_follows_hash_threads(self):
        two = self.storm(2)
        # Two hashes of 64 MiB at a time, and some slack; sixteen at once would be 1 GiB.
        self.assertLess(two, 3 * self.M_KIB / 1024, f"peak grew {two:.0f} MiB with hash_threads = 2")
        # The measure is real: with more threads the same storm peaks higher.
        six = self.storm(6)
        print(f"\nlogin storm of 16 with 64 MiB argon2: peak grew {two:.0f} MiB with 2 hashing threads, "
              f"{six:.0f} MiB with 6", flush=True)
        self.assertGreater(six, 4 * self.M_KIB / 1024, f"peak grew only {six:.0f} MiB with hash_threads = 6")

    def test_full_queue_answers_busy(self):
        # One thread, one waiting: of six logins at once, some find no room and are told so.
        env = kamtest.ENV
        kamd = Kamd(env, name="kamd-queue", extra={"argon2_memory_kib": "32768", "argon2_iterations": "3",
                                                   "hash_threads": "1", "hash_queue": "1"}).start()
        try:
            clients = [RawClient(kamd, timeout=60, source=f"127.0.20.{i + 1}") for i in range(6)]
            try:
                for i, c in enumerate(clients):
                    c.send(c.request("login", username=f"queued{i}", password=PASSWORD))
                resps = [c.recv_response() for c in clients]
            finally:
                for c in clients:
                    c.close()
            busy = [r for r in resps if r.error.code == pb.ERROR_CODE_UNAVAILABLE]
            wrong = [r for r in resps if r.error.message == "wrong user name or password"]
            self.assertEqual(len(busy) + len(wrong), 6, resps)
            self.assertGreaterEqual(len(wrong), 2)
            self.assertGreaterEqual(len(busy), 1, "every login found room: the queue is not bounded")
            self.assertEqual(busy[0].error.message, "kamd is busy checking passwords; try again")
            rows = env.psql("SELECT count(*) FROM audit_log WHERE action = 'login' AND username LIKE 'queued%' "
                            "AND detail->>'reason' = 'kamd busy'")
            self.assertEqual(int(rows[0][0]), len(busy))
        finally:
            kamd.stop()


if __name__ == "__main__":
    kamtest.main()
