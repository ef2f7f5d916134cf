"""kamd killed with SIGKILL under a keyed write load (issue 7). Writers finish
every write that failed by sending it again with its request key until the
restarted kamd answers, so a write whose answer the kill lost is resolved,
not guessed: every write acknowledged, first time or after retries, is there
exactly once with exactly one audit entry (faultload.py), the audit chain
verifies after every restart, and the restarted daemon serves within 2 s.
Short form: KAM_FAULT_KILLS (default 3) kills under KAM_FAULT_WRITERS (default
50) writers; tests/faults/long.sh runs 20."""

import time

import faultload
import kamtest
from kamtest import Kamd, TestCase, setUpModule, tearDownModule  # noqa: F401

SERVE_S = 2.0


class KamdKill(TestCase):

    @classmethod
    def setUpClass(cls):
        cls.kamd = Kamd(kamtest.ENV, name="kamd-kill").ensure_gm().start()

    def test_kill_9_under_load(self):
        probe = kamtest.gm_kam(self.kamd)

        def kill():
            self.kamd.kill()
            t0 = time.monotonic()
            self.kamd.start()
            if faultload.serving(probe, SERVE_S + 5.0) is None:
                return None
            took = time.monotonic() - t0
            self.assertSuccess(probe.run("audit", "verify"))   # after every restart
            return took
        load = faultload.under_load(self, self.kamd, faultload.WRITERS, faultload.KILLS, kill, SERVE_S,
                                    "kill -9 kamd", prefix="k")
        load.check(self, kamtest.ENV.psql)
        self.assertSuccess(probe.run("audit", "verify"))


if __name__ == "__main__":
    kamtest.main()
