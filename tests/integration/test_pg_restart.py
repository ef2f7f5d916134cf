"""PostgreSQL restarted under load (issue 7): `pg_ctl restart -m immediate`
while clients write. Every request either succeeds (exit 0) or gets a
retryable error (exit 7, never a false success). A commit whose
acknowledgement was lost is resolved, not guessed: the writers send a failed
write again with its request key until kamd answers, and every write is
there exactly once with exactly one audit entry (faultload.py), none twice;
kamd reconnects by itself (backoff 100 ms to 2 s) within 5 s of PostgreSQL
accepting connections, and the audit chain verifies afterwards. Short form:
KAM_FAULT_RESTARTS (default 3) restarts under KAM_FAULT_WRITERS (default 50)
writers; tests/faults/long.sh runs 10."""

import faultload
import kamtest
import pgcluster
from kamtest import Kamd, TestCase, free_port, setUpModule, tearDownModule  # noqa: F401

RECONNECT_S = 5.0


class PgRestart(TestCase):

    @classmethod
    def setUpClass(cls):
        env = kamtest.ENV
        cls.pg = pgcluster.Cluster("restart", free_port()).init().start().setup_kam()
        cls.kamd = Kamd(env, name="kamd-restart",
                        extra={"db": cls.pg.conninfo("kam_app"), "db_admin": cls.pg.conninfo("kam_admin")})
        cls.kamd.bootstrap_gm()
        cls.kamd.start()

    @classmethod
    def tearDownClass(cls):
        pgcluster.stop_all(cls.kamd, cls.pg)

    def test_restarts_under_load(self):
        probe = kamtest.gm_kam(self.kamd)

        def restart():
            self.pg.restart_immediate()          # returns once PostgreSQL accepts connections
            return faultload.serving(probe, RECONNECT_S + 5.0)
        load = faultload.under_load(self, self.kamd, faultload.WRITERS, faultload.RESTARTS, restart, RECONNECT_S,
                                    "pg_ctl restart -m immediate")
        load.check(self, self.pg.psql)
        self.assertSuccess(probe.run("audit", "verify"))
        self.kamd.check_log()


if __name__ == "__main__":
    kamtest.main()
