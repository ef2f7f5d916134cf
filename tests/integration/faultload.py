"""A write load for the fault tests (issue 7): writer threads, each with its
own kam session, add uniquely named accounts until stopped and record every
exit code; then the checks every fault must pass: only success or a retryable
error (exit 7), no acknowledged write lost, every account present has its
audit entry (all or nothing), nothing appears that nobody sent."""

import os
import threading
import time

import kamtest
from kamtest import GM, Kam

RETRYABLE = 7
# Sizes: CI's short form by default; tests/faults/long.sh sets the full ones.
RESTARTS = int(os.environ.get("KAM_FAULT_RESTARTS", "3"))
KILLS = int(os.environ.get("KAM_FAULT_KILLS", "3"))
WRITERS = int(os.environ.get("KAM_FAULT_WRITERS", "6"))
LOAD_BETWEEN_S = 1.0     # the load runs this long before each fault and after the last


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
    and returns the seconds until kamd served again (None: never), which must be at most
    limit. Returns the load, stopped, for load.check()."""
    load = WriteLoad(kamd, writers, prefix)
    load.start()
    took = []
    try:
        for _ in range(faults):
            time.sleep(LOAD_BETWEEN_S)
            took.append(fault())
        time.sleep(LOAD_BETWEEN_S)
    finally:
        load.stop()
    print(f"\n{label} x{faults}, {load.summary()}, serving again after (s): "
          f"{['%.2f' % t if t is not None else 'never' for t in took]}")
    for t in took:
        test.assertIsNotNone(t, "kamd did not serve again")
        test.assertLessEqual(t, limit)
    return load


class WriteLoad:

    def __init__(self, kamd, writers, prefix="w"):
        self.kamd = kamd
        self.prefix = prefix
        self.results = []
        self.stop_ev = threading.Event()
        self.kams = []
        for _ in range(writers):
            k = Kam(kamtest.ENV, kamd)
            k.login(GM)
            self.kams.append(k)
        self.threads = [threading.Thread(target=self.writer, args=(f"{prefix}{n}", k))
                        for n, k in enumerate(self.kams)]

    def writer(self, tag, k):
        i = 0
        while not self.stop_ev.is_set():
            name = f"{tag}-{i}"
            r = k.run("account", "add", name, "--tier", "ordinary")
            self.results.append((name, r.rc, r.err))
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
        return (f"requests {len(self.results)}, acknowledged {sum(1 for r in self.results if r[1] == 0)}, "
                f"refused retryably {sum(1 for r in self.results if r[1] == RETRYABLE)}")

    def check(self, test, psql):
        """psql(sql) -> rows, on the database kamd writes to."""
        bad = [r for r in self.results if r[1] not in (0, RETRYABLE)]
        test.assertEqual(bad, [], "only success or a retryable error")
        test.assertTrue(any(r[1] == 0 for r in self.results), "nothing was acknowledged")
        for _, rc, err in self.results:
            if rc == RETRYABLE:
                test.assertIn("kam: error:", err)
        present = {r[0] for r in psql("SELECT name FROM accounts")}
        acked = {r[0] for r in self.results if r[1] == 0}
        test.assertEqual(acked - present, set(), "acknowledged writes lost")
        test.assertLessEqual({p for p in present if p.startswith(self.prefix)}, {r[0] for r in self.results},
                             "accounts nobody sent")
        unaudited = psql("SELECT a.name FROM accounts a WHERE NOT EXISTS (SELECT 1 FROM audit_log l "
                         "WHERE l.account_id = a.id AND l.result = 'allowed')")
        test.assertEqual(unaudited, [], "accounts without their audit entry")
