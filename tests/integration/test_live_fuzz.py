"""Live fuzzing (issue 6): 10,000 random and mutated frames over 100
connections to the sanitizer build of kamd (tests/run.sh builds build-test/
with ASan and UBSan), while a well-behaved client keeps working. Passes only
with zero sanitizer reports in the daemon's log (the harness checks after
every test, and at the stop that follows, LeakSanitizer's too) and zero
failed good requests. The seed is printed; KAM_FUZZ_SEED repeats a run."""

import os
import random
import socket
import ssl
import struct
import threading
import time

import kamtest
from kamtest import (Kamd, RawClient, TestCase, add_users, gm_kam, pb, setUpModule,  # noqa: F401
                     tearDownModule)

FRAMES = 10_000
CONNECTIONS = 100
ADDRESSES = 25            # 127.0.4.1 .. 127.0.4.25: four connections each
HDR = struct.Struct(">I")
FUZZ_USER = "fuzzjr"      # a junior: mutated requests act with little power
READ_TIMEOUT = 0.5        # a frame that leaves kamd waiting for more: give up and reconnect


def body_names():
    """Every operation the protocol has: the members of Request.body."""
    return [f.name for f in pb.Request.DESCRIPTOR.oneofs_by_name["body"].fields]


def seeds(token):
    """Valid requests of every kind, some with a real token, to mutate."""
    out = []
    for name in body_names():
        r = pb.Request(id=7)
        getattr(r, name).SetInParent()
        out.append(r)
        # Not a logout with the real token: it would end the session the fuzzing rides on.
        r = pb.Request(id=8, token=token if name != "logout" else b"\x05" * 32)
        getattr(r, name).SetInParent()
        out.append(r)
    r = pb.Request(id=1)
    r.login.username, r.login.password = FUZZ_USER, "a wrong password"
    out.append(r)
    filled = [
        ("account_show", {"account": "Fuzz Corp"}),
        ("account_list", {"limit": 3, "owner": FUZZ_USER}),
        ("account_add", {"name": "Fuzzed", "tier": pb.TIER_ORDINARY}),
        ("account_assign", {"account": "Fuzz Corp", "username": FUZZ_USER}),
        ("user_add", {"username": "fz", "role": pb.ROLE_JUNIOR, "password": "p" * 12}),
        ("user_passwd", {"old_password": "x" * 12, "new_password": "y" * 12}),
        ("user_unlock", {"username": FUZZ_USER}),
    ]
    for name, fields in filled:
        r = pb.Request(id=9, token=token)
        sub = getattr(r, name)
        for k, v in fields.items():
            setattr(sub, k, v)
        out.append(r)
    r = pb.Request(id=10, token=token)
    r.account_set.account = "Fuzz Corp"
    r.account_set.fields.add(name="notes", value="fuzz")
    r.account_set.fields.add(name="headcount", value="12")
    out.append(r)
    return [s.SerializeToString() for s in out]


def mutate(rng, data, corpus):
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(8)
        if op == 0 and data:                       # flip bits
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
        elif op == 1 and data:                     # replace a byte, often with an edge value
            data[rng.randrange(len(data))] = rng.choice((0, 0x7F, 0x80, 0xFF, rng.randrange(256)))
        elif op == 2:                              # insert bytes
            i = rng.randint(0, len(data))
            data[i:i] = rng.randbytes(rng.randint(1, 16))
        elif op == 3 and data:                     # delete a range
            i = rng.randrange(len(data))
            del data[i:i + rng.randint(1, 8)]
        elif op == 4 and data:                     # truncate
            del data[rng.randrange(len(data)):]
        elif op == 5:                              # splice another seed in
            other = rng.choice(corpus)
            i = rng.randint(0, len(data))
            data[i:i] = other[:rng.randint(0, len(other))]
        elif op == 6:                              # a huge varint or length somewhere
            i = rng.randint(0, len(data))
            data[i:i] = b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"
        else:                                      # a long string field
            data += bytes([0x0A | (rng.randrange(1, 120) << 3) & 0xF8]) + b"\xe8\x07" + b"A" * 1000
    return bytes(data)


def fuzz_frame(rng, corpus):
    """One frame as bytes on the wire: mostly well framed, sometimes lying about its length."""
    kind = rng.random()
    if kind < 0.10:
        return rng.randbytes(rng.randint(0, 64))                      # not even a header
    if kind < 0.15:
        return HDR.pack(rng.choice((4097, 1 << 20, (1 << 20) + 1, 0xFFFFFFFF))) + rng.randbytes(16)
    payload = rng.randbytes(rng.randint(0, 300)) if kind < 0.25 else mutate(rng, rng.choice(corpus), corpus)
    if kind > 0.95:                                                   # the header lies
        return HDR.pack(max(0, len(payload) + rng.randint(-8, 64))) + payload
    return HDR.pack(len(payload)) + payload


class Fuzzer:
    """One connection's worth of frames: send, read whatever comes back, reconnect when closed."""

    def __init__(self, kamd, source, rng, corpus, frames, token):
        self.kamd, self.source, self.rng, self.corpus, self.frames = kamd, source, rng, corpus, frames
        self.token = token
        self.sent = self.reconnects = self.responses = 0
        self.error = None

    def connect(self):
        """A new connection; half of them say hello first, so what follows is read after login."""
        c = RawClient(self.kamd, source=self.source, timeout=10)
        self.reconnects += 1
        if self.rng.random() < 0.5:
            c.call("whoami", token=self.token)
        c.tls.settimeout(READ_TIMEOUT)
        return c

    def read_one(self, c):
        """Read the answer to one frame. False: start a new connection (kamd closed this one
        after a protocol error, or waits for bytes that will never come)."""
        try:
            resp = c.recv_response()       # at most 1 MiB, and it must parse
        except (kamtest.Closed, socket.timeout, TimeoutError, ssl.SSLError, ConnectionError):
            return False
        self.responses += 1
        return not (resp.id == 0 and resp.HasField("error"))

    def run(self):
        c = None
        try:
            for _ in range(self.frames):
                if c is None:
                    c = self.connect()
                try:
                    c.send_raw(fuzz_frame(self.rng, self.corpus))
                    self.sent += 1
                    alive = self.read_one(c)
                except (ConnectionError, ssl.SSLError, OSError):
                    self.sent += 1
                    alive = False
                if not alive:
                    c.close()
                    c = None
        except Exception as e:   # noqa: BLE001 - reported by the test
            self.error = e
        finally:
            if c:
                c.close()


class LiveFuzz(TestCase):

    def test_10000_frames_over_100_connections(self):
        env = kamtest.ENV
        seed = int(os.environ.get("KAM_FUZZ_SEED") or time.time_ns() % 1_000_000_007)
        print(f"\nlive fuzz seed {seed} (KAM_FUZZ_SEED={seed} repeats it)", flush=True)
        # Generous session limits: fuzzed logins must not lock the good client's address.
        kamd = Kamd(env, extra={"login_timeout": "30"}).ensure_gm().start()
        gm = gm_kam(kamd)
        add_users(gm, f"{FUZZ_USER} junior")
        gm.ok("account", "add", "Fuzz Corp", "--tier", "important", "--owner", FUZZ_USER)
        gm.ok("account", "add", "Good Corp", "--tier", "important")
        with RawClient(kamd) as c:
            token = c.login(FUZZ_USER).login.token
        corpus = seeds(token)

        good = RawClient(kamd, timeout=30)
        good.login()
        stop = threading.Event()
        good_stats = {"ok": 0, "failed": []}

        def well_behaved():
            i = 0
            while not stop.is_set():
                i += 1
                for body, kw in (("whoami", {}), ("account_show", {"account": "Good Corp"}),
                                 ("account_set", {"account": "Good Corp",
                                                  "fields": [pb.FieldValue(name="notes", value=f"good {i}")]}),
                                 ("account_list", {"limit": 5})):
                    try:
                        resp = good.call(body, **kw)
                        if resp.HasField("error"):
                            good_stats["failed"].append(f"{body}: {resp.error}")
                        else:
                            good_stats["ok"] += 1
                    except Exception as e:   # noqa: BLE001
                        good_stats["failed"].append(f"{body}: {e!r}")
                        return

        keeper = threading.Thread(target=well_behaved)
        keeper.start()
        master = random.Random(seed)
        fuzzers = [Fuzzer(kamd, f"127.0.4.{i % ADDRESSES + 1}", random.Random(master.getrandbits(64)), corpus,
                          FRAMES // CONNECTIONS, token) for i in range(CONNECTIONS)]
        threads = [threading.Thread(target=f.run) for f in fuzzers]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
        took = time.monotonic() - t0
        # The real kam, too, while the daemon has been through all that.
        self.assertSuccess(gm.run("account", "show", "Good Corp"))
        stop.set()
        keeper.join(timeout=60)
        good.close()

        errors = [f.error for f in fuzzers if f.error]
        self.assertEqual(errors, [], "a fuzzing connection failed in the harness itself")
        sent = sum(f.sent for f in fuzzers)
        print(f"live fuzz: {sent} frames over {sum(f.reconnects for f in fuzzers)} connections in {took:.1f} s, "
              f"{sum(f.responses for f in fuzzers)} responses; good client: {good_stats['ok']} requests",
              flush=True)
        self.assertEqual(sent, FRAMES)
        self.assertEqual(good_stats["failed"], [], "a good request failed")
        self.assertGreater(good_stats["ok"], 0)
        self.assertTrue(kamd.running, f"kamd died:\n{kamd.read_log()[-4000:]}")
        kamd.check_log()
        # A clean exit, and LeakSanitizer's verdict on everything the storm allocated.
        kamd.stop()


if __name__ == "__main__":
    kamtest.main()
