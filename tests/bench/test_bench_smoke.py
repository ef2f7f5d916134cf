"""Smoke run of kam-bench against a real kamd, started as the integration tests start it.

A few seconds of every operation of the mix must all succeed (no timing is
asserted), and kam-bench must notice when they do not: a wrong password stops
it before the run, and reads of accounts the user cannot see count as errors.
Run by ctest (bench.smoke) with tests/run.sh's environment; KAM_BENCH_BIN is
the kam-bench binary.
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import kamtest  # noqa: E402
from kamtest import PASSWORD, TestCase, run  # noqa: E402

REP = "benchrep"
OTHER = "benchother"
ACCOUNTS = 4
SECONDS = "3"


def bench_bin():
    b = os.environ.get("KAM_BENCH_BIN")
    if not b:
        build = os.environ.get("KAM_BUILD_DIR") or os.environ.get("KAM_CMAKE_BINARY_DIR")
        b = os.path.join(build or ".", "tests", "bench", "kam-bench")
    if not os.access(b, os.X_OK):
        raise RuntimeError(f"{b} is missing; build the kam-bench target")
    return b


class BenchSmoke(TestCase):
    @classmethod
    def setUpClass(cls):
        env = kamtest.ENV
        cls.kamd = kamtest.Kamd(env).ensure_gm().start()
        cls.gm = kamtest.Kam(env, cls.kamd)
        cls.gm.login(kamtest.GM)
        for user in (REP, OTHER):
            cls.gm.ok("user", "add", user, "--role", "junior", "--password-stdin", stdin=PASSWORD + "\n")
        cls.ids = []
        for i in range(ACCOUNTS):
            doc = cls.gm.json("account", "add", f"Bench {i}", "--tier", "important", "--owner", REP)
            cls.ids.append(doc["id"])
        # The other rep's single account: REP must not see it.
        cls.hidden = cls.gm.json("account", "add", "Bench hidden", "--tier", "ordinary", "--owner", OTHER)["id"]
        cls.pwfile = os.path.join(env.tmp, "bench-password")
        with open(cls.pwfile, "w") as f:
            f.write(PASSWORD + "\n")

    def bench(self, *args, users=REP):
        argv = [bench_bin(), "--server", f"127.0.0.1:{self.kamd.port}", "--ca", self.kamd.cert,
                "--users", users, "--password-file", self.pwfile, "--warmup", "0.5", *args]
        return run(argv, env=kamtest.child_env({}), timeout=120)

    def test_mix_runs_without_errors(self):
        r = self.bench("--connections", "2", "--duration", SECONDS, "--json",
                       "--mix", "read=50,update=20,list=20,review=10")
        self.assertEqual(r.rc, 0, f"kam-bench failed:{r}")
        doc = json.loads(r.out)
        self.assertEqual(doc["connections"], 2)
        self.assertEqual(doc["connection_failures"], 0)
        for op in ("read", "update", "list", "review"):
            self.assertGreater(doc["ops"][op]["ok"], 0, f"no {op} succeeded: {doc}")
            self.assertEqual(doc["ops"][op]["errors"], 0, f"{op} errors: {doc}")
            self.assertGreater(doc["ops"][op]["p99_ms"], 0, f"{op}: {doc}")
            self.assertGreaterEqual(doc["ops"][op]["max_ms"], doc["ops"][op]["p99_ms"], f"{op}: {doc}")
        self.assertEqual(doc["total"]["errors"], 0)
        # Every read and update went through the audit: rows were written as the rep.
        rows = kamtest.ENV.psql(f"SELECT count(*) FROM audit_log a JOIN users u ON u.id = a.user_id "
                                f"WHERE u.username = '{REP}' AND a.action = 'account.show' "
                                f"AND a.result = 'allowed'")
        self.assertGreaterEqual(int(rows[0][0]), doc["ops"]["read"]["ok"])
        # Updates landed: the notes carry kam-bench's counter.
        notes = kamtest.ENV.psql("SELECT count(*) FROM accounts WHERE notes LIKE 'kam-bench %'")
        self.assertGreater(int(notes[0][0]), 0)

    def test_table_output(self):
        r = self.bench("--connections", "1", "--duration", "1", "--mix", "read=1")
        self.assertEqual(r.rc, 0, f"kam-bench failed:{r}")
        lines = r.out.splitlines()
        self.assertTrue(any(line.startswith("read ") for line in lines), r)
        self.assertTrue(any(line.startswith("all ") for line in lines), r)
        self.assertIn("p99 ms", r.out)

    def test_wrong_password_stops_before_the_run(self):
        bad = os.path.join(kamtest.ENV.tmp, "bad-password")
        with open(bad, "w") as f:
            f.write("not the password at all\n")
        r = run([bench_bin(), "--server", f"127.0.0.1:{self.kamd.port}", "--ca", self.kamd.cert,
                 "--users", OTHER, "--password-file", bad, "--duration", "1"],
                env=kamtest.child_env({}), timeout=60)
        self.assertEqual(r.rc, 3, r)
        self.assertIn(f"login as {OTHER} failed: unauthenticated", r.err)
        self.assertEqual(r.out, "")

    def test_invisible_accounts_count_as_errors(self):
        r = self.bench("--connections", "1", "--duration", "1", "--json", "--mix", "read=1",
                       "--accounts", str(self.hidden))
        self.assertEqual(r.rc, 1, r)
        doc = json.loads(r.out)
        self.assertEqual(doc["ops"]["read"]["ok"], 0, doc)
        self.assertGreater(doc["ops"]["read"]["errors"], 0, doc)
        self.assertEqual(set(doc["ops"]["read"]["by_status"]), {"not_found"}, doc)

    def test_hold_measures_the_daemon(self):
        r = self.bench("--hold", "20", "--hold-seconds", "0.5", "--server-pid", str(self.kamd.proc.pid),
                       "--json")
        self.assertEqual(r.rc, 0, r)
        doc = json.loads(r.out)["hold"]
        self.assertEqual(doc["connections"], 20)
        self.assertIsNotNone(doc["rss_after_kib"])
        self.assertIsNotNone(doc["per_connection_bytes"])

    def test_usage_errors_exit_2(self):
        for args in (["--mix", "read=0"], ["--accounts", "5-3"], ["--connections", "0"], ["--bogus"]):
            r = self.bench(*args)
            self.assertEqual(r.rc, 2, r)
            self.assertTrue(r.err.startswith("kam-bench: error: "), r)
        r = run([bench_bin(), "--help"], env=kamtest.child_env({}))
        self.assertEqual(r.rc, 0, r)
        self.assertIn("usage: kam-bench", r.out)


setUpModule = kamtest.setUpModule
tearDownModule = kamtest.tearDownModule

if __name__ == "__main__":
    kamtest.main()
