"""A keyed write load for the fault tests (issue 7): writer threads, each with
its own kam session and its own account, add barriers with unique texts until
stopped. kam sends every write with a request key; a write that fails with a
retryable error (exit 7) is sent again with the key its error names, as a user
finishing it would, until kamd answers. Then the checks every fault must pass:
only success or a retryable error; every write that was acknowledged, the
first time or after retries, is there exactly once with exactly one audit
entry; one never acknowledged is there at most once, with its entry if so;
nothing appears that nobody sent."""

import os
import random
import re
import socket
import tempfile
import threading
import time

import kamtest
from kamtest import GM, Kam

RETRYABLE = 7
REPLAYED = "kam: already applied (the first answer was lost); nothing changed now"
# Sizes: CI's short form by default; tests/faults/long.sh sets the full ones.
RESTARTS = int(os.environ.get("KAM_FAULT_RESTARTS", "3"))
KILLS = int(os.environ.get("KAM_FAULT_KILLS", "3"))
WRITERS = int(os.environ.get("KAM_FAULT_WRITERS", "50"))
LOAD_BETWEEN_S = 1.0     # the load runs this long before each fault and after the last
FINISH_WITHIN_S = 30.0   # a writer gives up finishing one write after this (kamd never came back)
# Between attempts to finish a write, plus up to as much jitter. While kamd does not even
# listen, a writer only knocks on its port at this pace: fifty writers starting a sanitizer
# build of kam every few milliseconds would take the two cores from the restarting kamd.
RETRY_STEP_S = 0.2
KNOCK_STEP_S = 0.05
# How a failed write's error names its key (client/retry.c's hint).
KEY_IN_HINT = re.compile(r"--request-key ([0-9a-f]{32,128})\b")


def serving(probe, timeout, step=0.02):
    """Seconds until probe (a logged-in Kam) is answered, or None. whoami checks the
    session in PostgreSQL, so it needs the database, but its cost does not grow with the
    accounts the load adds (as a list's would)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if probe.run("whoami").rc == 0:
            return time.monotonic() - t0
        time.sleep(step)
    return None


def under_load(test, kamd, writers, faults, fault, limit, label, prefix="w"):
    """Run `faults` faults under a write load of `writers` clients. fault() causes one
    and returns the seconds until kamd served again (None: never), which load.check()
    requires to be at most limit, after the writes. Returns the load, stopped."""
    load = WriteLoad(kamd, writers, prefix)
    load.start()
    try:
        for _ in range(faults):
            time.sleep(LOAD_BETWEEN_S)
            load.took.append(fault())
        time.sleep(LOAD_BETWEEN_S)
    finally:
        load.stop()
    load.limit = limit
    print(f"\n{label} x{faults}, {load.summary()}, serving again after (s): "
          f"{['%.2f' % t if t is not None else 'never' for t in load.took]}")
    return load


class Write:
    """One write as its writer saw it: every attempt's exit code, and how it ended."""

    def __init__(self, text):
        self.text = text
        self.rcs = []            # exit code of every attempt
        self.errs = []           # stderr of every failed attempt
        self.replayed = False    # acknowledged as "already applied" by a retry
        self.keyless = 0         # failures that named no key: nothing had been sent

    @property
    def acked(self):
        return bool(self.rcs) and self.rcs[-1] == 0


class WriteLoad:

    def __init__(self, kamd, writers, prefix="w"):
        self.kamd = kamd
        self.prefix = prefix
        self.writes = []
        self.took = []           # per fault: seconds until kamd served again (None: never)
        self.limit = None
        self.lock = threading.Lock()
        self.stop_ev = threading.Event()
        self.kams = []
        gm = kamtest.gm_kam(kamd)
        self.accounts = [f"{prefix}{n}-account" for n in range(writers)]
        with tempfile.NamedTemporaryFile("w", suffix=".csv", dir=kamtest.ENV.tmp, delete=False) as f:
            f.write("name,tier\n" + "".join(f"{a},ordinary\n" for a in self.accounts))
        gm.ok("import", f.name)
        for _ in range(writers):
            k = Kam(kamtest.ENV, kamd)
            k.login(GM)
            self.kams.append(k)
        self.threads = [threading.Thread(target=self.writer, args=(f"{prefix}{n}", k, self.accounts[n]))
                        for n, k in enumerate(self.kams)]

    def listening(self):
        """Whether kamd accepts TCP connections (a knock, far cheaper than a kam run)."""
        try:
            socket.create_connection(("127.0.0.1", self.kamd.port), timeout=1.0).close()
            return True
        except OSError:
            return False

    def one_write(self, k, account, text):
        """Send one barrier; on a retryable failure send it again, with the key the error
        names, until kamd answers (or FINISH_WITHIN_S passes)."""
        w = Write(text)
        args = ("barrier", "add", account, "--kind", "other", text)
        r = k.run(*args)
        give_up = time.monotonic() + FINISH_WITHIN_S
        key = None
        while True:
            w.rcs.append(r.rc)
            if r.rc != RETRYABLE or time.monotonic() > give_up:
                break
            w.errs.append(r.err)
            m = KEY_IN_HINT.search(r.err)
            if m:
                key = m.group(1)
            elif key is None:
                w.keyless += 1   # not sent yet: the same write is simply sent (with a new key)
            time.sleep(RETRY_STEP_S * (1 + random.random()))
            while not self.listening() and time.monotonic() < give_up:
                time.sleep(KNOCK_STEP_S * (1 + random.random()))
            r = k.run(*args, globals_=("--request-key", key) if key else ())
        w.replayed = r.rc == 0 and REPLAYED in r.err
        with self.lock:
            self.writes.append(w)
        return w

    def writer(self, tag, k, account):
        i = 0
        while not self.stop_ev.is_set():
            self.one_write(k, account, f"{tag}-{i}")
            i += 1

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join()

    def summary(self):
        ws = self.writes
        return (f"writers {len(self.threads)}, writes {len(ws)}, attempts {sum(len(w.rcs) for w in ws)}, "
                f"acknowledged {sum(1 for w in ws if w.acked)} "
                f"(after a retry {sum(1 for w in ws if w.acked and len(w.rcs) > 1)}, "
                f"of them already applied {sum(1 for w in ws if w.replayed)}), "
                f"unfinished {sum(1 for w in ws if not w.acked)}, "
                f"failures before anything was sent {sum(w.keyless for w in ws)}")

    def check(self, test, psql):
        """psql(sql) -> rows, on the database kamd writes to."""
        bad = [(w.text, w.rcs) for w in self.writes if any(rc not in (0, RETRYABLE) for rc in w.rcs)]
        test.assertEqual(bad, [], "only success or a retryable error")
        test.assertTrue(any(w.acked for w in self.writes), "nothing was acknowledged")
        for w in self.writes:
            for err in w.errs:
                test.assertIn("kam: error:", err)
        like = self.prefix.replace("_", "\\_") + "%"
        rows = dict((t, int(n)) for t, n in psql(
            f"SELECT description, count(*) FROM barriers WHERE description LIKE '{like}' GROUP BY description"))
        audit = dict((t, int(n)) for t, n in psql(
            "SELECT detail->'changes'->'description'->>'after', count(*) FROM audit_log "
            f"WHERE action = 'barrier.add' AND result = 'allowed' "
            f"AND detail->'changes'->'description'->>'after' LIKE '{like}' GROUP BY 1"))
        sent = {w.text: w for w in self.writes}
        test.assertEqual(set(rows) - set(sent), set(), "barriers nobody sent")
        twice = {t: n for t, n in rows.items() if n != 1}
        test.assertEqual(twice, {}, "writes applied more than once")
        lost = [w.text for w in self.writes if w.acked and rows.get(w.text, 0) != 1]
        test.assertEqual(lost, [], "acknowledged writes lost")
        unaudited = {t: (n, audit.get(t, 0)) for t, n in rows.items() if audit.get(t, 0) != n}
        test.assertEqual(unaudited, {}, "writes without exactly one audit entry")
        test.assertEqual(set(audit) - set(rows), set(), "audit entries of writes that are not there")
        for t in self.took:
            test.assertIsNotNone(t, "kamd did not serve again")
            test.assertLessEqual(t, self.limit, f"serving again after (s): {self.took}")
