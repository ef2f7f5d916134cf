"""The wire protocol, spoken by hand (Valkey's protocol.tcl manner): malformed
frames and messages, frame limits before and after login, request ids, clients
that vanish mid-request, TLS versions, and that one bad connection never hurts
another."""

import socket
import ssl
import struct
import time

import kamtest
from kamtest import (GM, MAX_FRAME, MAX_FRAME_PRELOGIN, PASSWORD, Closed, Kam, Kamd, RawClient, TestCase,
                     pb, setUpModule, tearDownModule)  # noqa: F401

HDR = struct.Struct(">I")


def pad_field(n):
    """An unknown length-delimited field (number 99) of n bytes in total, which the
    protobuf decoder skips: a way to make a valid Request of an exact size."""
    def encode_varint(v):
        out = b""
        while True:
            b = v & 0x7F
            v >>= 7
            if v:
                out += bytes([b | 0x80])
            else:
                return out + bytes([b])
    tag = encode_varint((99 << 3) | 2)
    for body in range(n, -1, -1):  # find the body length whose encoding totals n
        if len(tag) + len(encode_varint(body)) + body == n:
            return tag + encode_varint(body) + b"x" * body
    raise ValueError(n)


class Protocol(TestCase):

    @classmethod
    def setUpClass(cls):
        env = kamtest.ENV
        cls.kamd = Kamd(env).ensure_gm().start()
        cls.kam = Kam(env, cls.kamd)
        cls.kam.login(GM)
        cls.kam.ok("account", "add", "Proto Corp", "--tier", "important")

    def client(self, login=False):
        c = RawClient(self.kamd)
        self.addCleanup(c.close)
        if login:
            c.login()
        return c

    def assertProtocolErrorAndClose(self, c):
        resp = c.recv_response()
        self.assertEqual(resp.id, 0, f"a protocol error carries id 0: {resp}")
        self.assertRespError(resp, pb.ERROR_CODE_PROTOCOL)
        self.assertTrue(c.closed(), "the connection is closed after a protocol error")

    def assertDaemonServes(self):
        """Other clients are unaffected: a raw login and the real kam both work."""
        with RawClient(self.kamd) as c:
            c.login()
            self.assertRespOk(c.call("whoami"))
        self.assertSuccess(self.kam.run("whoami"))

    # ---- malformed input: one error frame with id 0, then close ----

    def test_garbage_bytes(self):
        c = self.client()
        c.send_frame(b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01")
        self.assertProtocolErrorAndClose(c)
        self.assertDaemonServes()

    def test_bad_oneof_wire_type(self):
        # Field 10 (login) is a message; sending it as a varint makes the Request unparseable.
        c = self.client()
        c.send_frame(b"\x08\x05" + b"\x50\x01")
        self.assertProtocolErrorAndClose(c)

    def test_truncated_message(self):
        c = self.client()
        full = c.request("login", username=GM, password=PASSWORD).SerializeToString()
        c.send_frame(full[:-3])
        self.assertProtocolErrorAndClose(c)

    def test_not_tls_at_all(self):
        with socket.create_connection(("127.0.0.1", self.kamd.port), timeout=10) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            s.settimeout(10)
            try:
                while s.recv(4096):
                    pass
            except ConnectionResetError:
                pass
        self.assertDaemonServes()

    # ---- invalid fields: INVALID_ARGUMENT with the field; the connection stays ----

    def test_invalid_fields_keep_connection(self):
        c = self.client(login=True)
        resp = c.call("user_add", username="x", role=99, password=PASSWORD)
        self.assertRespError(resp, pb.ERROR_CODE_INVALID_ARGUMENT, field="role")
        resp = c.call("whoami", token=b"12345")
        self.assertRespError(resp, pb.ERROR_CODE_INVALID_ARGUMENT, field="token")
        resp = c.call("account_add", name="", tier=pb.TIER_TOP)
        self.assertRespError(resp, pb.ERROR_CODE_INVALID_ARGUMENT, field="name")
        resp = c.call("account_add", name="Too Long " + "x" * 300, tier=pb.TIER_TOP)
        self.assertRespError(resp, pb.ERROR_CODE_INVALID_ARGUMENT, field="name")
        resp = c.call("account_list", limit=5000)
        self.assertRespError(resp, pb.ERROR_CODE_INVALID_ARGUMENT, field="limit")
        resp = c.call("login", username="gm\x00", password=PASSWORD)
        self.assertRespError(resp, pb.ERROR_CODE_INVALID_ARGUMENT, field="username")
        resp = c.call(None)  # no oneof at all
        self.assertRespError(resp, pb.ERROR_CODE_INVALID_ARGUMENT)
        resp = c.call("whoami")
        self.assertRespOk(resp)
        self.assertEqual(resp.whoami.user.username, GM)

    def test_auth_gate(self):
        # Before login only a login or a request with a token (the hello) is taken:
        # anything else is answered once, then the connection closes (issue 6).
        c = self.client()
        self.assertRespError(c.call("whoami"), pb.ERROR_CODE_UNAUTHENTICATED)
        self.assertTrue(c.closed(), "a tokenless request before login closes the connection")
        c = self.client()
        self.assertRespError(c.call("account_list", token=b"\x01" * 32), pb.ERROR_CODE_UNAUTHENTICATED)
        resp = c.call("login", username=GM, password="wrong password!!")
        self.assertRespError(resp, pb.ERROR_CODE_UNAUTHENTICATED)
        self.assertFalse(resp.login.token, "no token with an error")
        resp = c.login()
        self.assertEqual(len(c.token), 32)
        self.assertEqual(resp.login.user.username, GM)
        self.assertEqual(resp.login.user.role, pb.ROLE_GM)
        # Default session_absolute_timeout: 12 h from now.
        self.assertAlmostEqual(resp.login.expires_at, time.time() + 43200, delta=120)
        self.assertRespOk(c.call("account_list"))

    def test_request_ids_echoed(self):
        c = self.client(login=True)
        ids = [7, 1, 2**64 - 1, 123456789012345, 42]
        for i in ids:  # pipelined: all sent before any answer is read
            c.send(c.request("whoami", id=i))
        got = [c.recv_response() for _ in ids]
        self.assertEqual(sorted(r.id for r in got), sorted(ids))
        for r in got:
            self.assertRespOk(r)
        # Errors echo the id as well.
        self.assertEqual(c.call("account_show", id=99, account="No Such Corp").id, 99)

    def test_concurrent_stale_updates(self):
        # Optimistic concurrency under a real race: many writers, one version, one winner.
        env = kamtest.ENV
        self.kam.ok("account", "add", "Race Corp", "--tier", "important")
        clients = [self.client(login=True) for _ in range(8)]
        version = clients[0].call("account_show", account="Race Corp").account_show.account.version
        audited = "SELECT count(*) FROM audit_log a JOIN accounts c ON c.id = a.account_id " \
                  "WHERE c.name = 'Race Corp' AND a.action = 'account.set' AND a.result = 'allowed'"
        self.assertEqual(env.psql(audited), [["0"]])
        reqs = [c.send(c.request("account_set", account="Race Corp", if_version=version,
                                 fields=[pb.FieldValue(name="notes", value=f"writer {i}")]))
                for i, c in enumerate(clients)]
        resps = [c.recv_response() for c in clients]
        for req, resp in zip(reqs, resps):
            self.assertEqual(resp.id, req.id)
        winners = [r for r in resps if not r.HasField("error")]
        self.assertEqual(len(winners), 1, f"exactly one writer wins: {resps}")
        for r in resps:
            if r.HasField("error"):
                self.assertRespError(r, pb.ERROR_CODE_CONFLICT)
        final = clients[0].call("account_show", account="Race Corp").account_show.account
        self.assertEqual(final.version, winners[0].account_set.account.version)
        self.assertGreater(final.version, version)
        self.assertEqual(final.info.notes, winners[0].account_set.account.info.notes)
        self.assertEqual(env.psql(audited), [["1"]], "only the change that happened is audited as allowed")

    # ---- frame limits ----

    def test_prelogin_limit_boundary(self):
        # Exactly 4096 bytes is a valid pre-login frame ...
        c = self.client()
        req = c.request("login", username=GM, password=PASSWORD).SerializeToString()
        payload = req + pad_field(MAX_FRAME_PRELOGIN - len(req))
        self.assertEqual(len(payload), MAX_FRAME_PRELOGIN)
        c.send_frame(payload)
        resp = c.recv_response()
        self.assertRespOk(resp)
        # ... one byte more is not.
        c2 = self.client()
        c2.send_raw(HDR.pack(MAX_FRAME_PRELOGIN + 1))
        self.assertProtocolErrorAndClose(c2)

    def test_5k_frame_before_login_closes(self):
        c = self.client()
        req = c.request("login", username=GM, password=PASSWORD).SerializeToString()
        c.send_frame(req + pad_field(5 * 1024 - len(req)))
        self.assertProtocolErrorAndClose(c)
        self.assertDaemonServes()

    def test_large_frame_after_login(self):
        c = self.client(login=True)
        notes = "n" * 8000
        resp = c.call("account_set", account="Proto Corp", fields=[pb.FieldValue(name="notes", value=notes)])
        self.assertRespOk(resp)
        self.assertEqual(resp.account_set.account.info.notes, notes)
        # A new connection whose first request carries a valid token is authenticated too.
        c2 = self.client()
        c2.token = c.token
        self.assertRespOk(c2.call("whoami"))
        resp = c2.call("account_set", account="Proto Corp", fields=[pb.FieldValue(name="notes", value=notes[:6000])])
        self.assertRespOk(resp)

    def test_2mib_frame_closes_only_that_connection(self):
        bystander = self.client(login=True)
        c = self.client(login=True)
        c.send_raw(HDR.pack(2 * MAX_FRAME) + b"\0" * 64)
        self.assertProtocolErrorAndClose(c)
        self.assertRespOk(bystander.call("whoami"))
        self.assertSuccess(self.kam.run("whoami"))

    def test_frame_above_limit_after_login(self):
        c = self.client(login=True)
        c.send_raw(HDR.pack(MAX_FRAME + 1))
        self.assertProtocolErrorAndClose(c)

    def test_empty_frame(self):
        # A zero-length frame is an empty Request: valid framing, but no operation.
        # After login the connection stays; before it, that is no login, so it closes.
        c = self.client(login=True)
        c.send_frame(b"")
        resp = c.recv_response()
        self.assertRespError(resp, pb.ERROR_CODE_INVALID_ARGUMENT)
        self.assertRespOk(c.call("whoami"))
        c = self.client()
        c.send_frame(b"")
        self.assertRespError(c.recv_response(), pb.ERROR_CODE_INVALID_ARGUMENT)
        self.assertTrue(c.closed())

    def test_byte_at_a_time(self):
        c = self.client()
        frame = c.request("login", username=GM, password=PASSWORD).SerializeToString()
        for b in HDR.pack(len(frame)) + frame:
            c.send_raw(bytes([b]))
        self.assertRespOk(c.recv_response())

    # ---- vanishing clients ----

    def test_client_vanishes_mid_request(self):
        for _ in range(3):
            c = RawClient(self.kamd)
            c.login()
            for i in range(10):
                c.send(c.request("account_set", account="Proto Corp",
                                 fields=[pb.FieldValue(name="headcount", value=str(i))]))
                c.send(c.request("account_show", account="Proto Corp"))
            c.tls.close()  # gone without reading a single answer
            c2 = RawClient(self.kamd)
            c2.send(c2.request("login", username=GM, password=PASSWORD))  # argon2 in flight
            c2.tls.close()
        self.assertDaemonServes()
        env = kamtest.ENV
        q = ("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'kamd' "
             f"AND datname = '{env.dbname}' AND state LIKE 'idle in transaction%'")
        deadline = time.monotonic() + 10
        while env.psql(q, db="postgres") != [["0"]] and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertEqual(env.psql(q, db="postgres"), [["0"]], "no transaction left open")
        n = env.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'kamd' "
                     f"AND datname = '{env.dbname}'", db="postgres")[0][0]
        self.assertGreater(int(n), 0, "kamd's connections carry application_name=kamd")

    def test_half_frame_then_close(self):
        c = RawClient(self.kamd)
        c.send_raw(HDR.pack(100) + b"\x08")
        c.tls.close()
        self.assertDaemonServes()

    def test_pipelined_client_that_reads_late(self):
        # 300 requests whose answers (about 8 KB each) far exceed the daemon's output
        # queue limit, all sent before reading one: backpressure must pause, not drop.
        c = self.client(login=True)
        self.assertRespOk(c.call("account_set", account="Proto Corp",
                                 fields=[pb.FieldValue(name="notes", value="p" * 8000)]))
        n = 300
        sent = [c.send(c.request("account_show", account="Proto Corp")).id for _ in range(n)]
        got = [c.recv_response() for _ in range(n)]
        self.assertEqual(sorted(r.id for r in got), sorted(sent))
        for r in got:
            self.assertRespOk(r)
        self.assertRespOk(c.call("whoami"))

    def test_many_concurrent_logins(self):
        clients = [self.client() for _ in range(24)]
        for c in clients:
            c.send(c.request("login", username=GM, password=PASSWORD))
        for c in clients:
            resp = c.recv_response()
            self.assertRespOk(resp)
            self.assertEqual(len(resp.login.token), 32)

    def test_database_connections_killed(self):
        # PostgreSQL drops kamd's connections: requests fail as unavailable (never a
        # false success or a wrong answer), and kamd reconnects by itself.
        env = kamtest.ENV
        c = self.client(login=True)
        self.assertRespOk(c.call("whoami"))
        killed = env.psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                          f"WHERE application_name = 'kamd' AND datname = '{env.dbname}'", db="postgres")
        self.assertGreater(int(killed[0][0]), 0)
        deadline = time.monotonic() + 15
        while True:
            resp = c.call("account_show", account="Proto Corp")
            if not resp.HasField("error"):
                break
            self.assertRespError(resp, pb.ERROR_CODE_UNAVAILABLE)
            self.assertLess(time.monotonic(), deadline, "kamd did not reconnect to PostgreSQL")
            time.sleep(0.2)
        self.assertEqual(resp.account_show.account.name, "Proto Corp")
        self.assertSuccess(self.kam.run("whoami"))

    # ---- TLS ----

    def test_tls12_refused(self):
        with self.assertRaises((ssl.SSLError, ConnectionResetError, Closed)):
            c = RawClient(self.kamd, tls_version=ssl.TLSVersion.TLSv1_2)
            c.call("whoami")
        self.assertDaemonServes()

    def test_tls13_negotiated(self):
        c = self.client()
        self.assertEqual(c.tls.version(), "TLSv1.3")


class Limits(TestCase):
    """Connection limits and timeouts, with a daemon configured small ones."""

    @classmethod
    def setUpClass(cls):
        env = kamtest.ENV
        cls.kamd = Kamd(env, name="kamd-timeouts", extra={"login_timeout": "1", "idle_timeout": "4"})
        cls.kamd.ensure_gm().start()
        # Its own daemon, so no timeout frees a slot behind the test's back.
        cls.busy = Kamd(env, name="kamd-busy", extra={"max_connections": "3"}).start()

    def client(self, kamd=None):
        c = RawClient(kamd or self.kamd)
        self.addCleanup(c.close)
        return c

    def test_unauthenticated_connection_closed(self):
        c = self.client()
        self.assertTrue(c.closed(timeout=5), "closed after login_timeout")

    def test_authenticated_connection_survives_login_timeout_then_idles_out(self):
        c = self.client()
        c.login()
        time.sleep(2)
        self.assertRespOk(c.call("whoami"))
        self.assertTrue(c.closed(timeout=10), "closed after idle_timeout")

    def test_max_connections_busy(self):
        held = []
        for _ in range(3):
            c = self.client(self.busy)
            c.login()
            held.append(c)
        extra = self.client(self.busy)
        resp = extra.recv_response()
        self.assertEqual(resp.id, 0)
        self.assertRespError(resp, pb.ERROR_CODE_BUSY)
        self.assertTrue(extra.closed())
        kam = Kam(kamtest.ENV, self.busy)
        self.assertOneError(kam.run("login", GM, "--password-stdin", stdin=PASSWORD + "\n"), 7, "busy")
        # The held connections still work, and a freed slot is usable again.
        self.assertRespOk(held[0].call("whoami"))
        held.pop().close()
        deadline = time.monotonic() + 5
        while True:
            r = kam.run("login", GM, "--password-stdin", stdin=PASSWORD + "\n")
            if r.rc == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertSuccess(r)


if __name__ == "__main__":
    kamtest.main()
