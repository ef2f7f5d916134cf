"""Streaming-replication failover (issue 7): a primary and a hot standby on
loopback (Unix sockets), kamd given both in one multi-host connection string
with target_session_attrs=read-write. When the primary dies, writes are refused
retryably (exit 7) and none is accepted by the read-only standby; once the
standby is promoted, writes resume on it without restarting kamd, and what was
written before is there."""

import os
import time

import kamtest
import pgcluster
from kamtest import GM, Kam, Kamd, TestCase, free_port, setUpModule, tearDownModule  # noqa: F401

RESUME_S = 5.0


class Failover(TestCase):

    @classmethod
    def setUpClass(cls):
        cls.primary = pgcluster.Cluster("primary", free_port()).init().start()
        cls.standby = pgcluster.Cluster("standby", free_port())
        try:
            cls.set_up_clusters()
        except BaseException:
            cls.primary.destroy()
            cls.standby.destroy()
            raise

    @classmethod
    def set_up_clusters(cls):
        env = kamtest.ENV
        cls.primary.setup_kam()
        cls.standby.pg(pgcluster._bin("pg_basebackup"), "-h", cls.primary.sock, "-p", cls.primary.port,
                       "-U", "postgres", "-D", cls.standby.data, "-R", "-X", "stream", "-c", "fast", "--no-sync")
        cls.standby.write_conf(["hot_standby = on"])
        cls.standby.start()

        def both(user):
            return (f"host={cls.primary.sock},{cls.standby.sock} port={cls.primary.port},{cls.standby.port} "
                    f"dbname=kam user={user} target_session_attrs=read-write")
        cls.kamd = Kamd(env, name="kamd-failover", extra={"db": both("kam_app"), "db_admin": both("kam_admin")})
        cls.kamd.bootstrap_gm()
        cls.kamd.start()

    @classmethod
    def tearDownClass(cls):
        pgcluster.stop_all(cls.kamd, cls.primary, cls.standby)

    def on_standby(self, sql):
        return self.standby.psql(sql)

    def test_writes_resume_on_the_promoted_standby(self):
        gm = Kam(kamtest.ENV, self.kamd)
        gm.login(GM)
        self.assertSuccess(gm.run("account", "add", "Before", "--tier", "top"))
        self.assertEqual(self.on_standby("SELECT pg_is_in_recovery()"), [["t"]])
        self.assertIsNotNone(pgcluster.wait_until(
            lambda: self.on_standby("SELECT count(*) FROM accounts WHERE name = 'Before'") == [["1"]], 10.0))
        pid = self.kamd.proc.pid

        self.primary.stop("immediate")
        # No primary: the standby is read-only, so every write is refused retryably.
        for i in range(3):
            r = gm.run("account", "add", f"Lost{i}", "--tier", "ordinary")
            self.assertOneError(r, 7)
        self.assertEqual(self.on_standby("SELECT count(*) FROM accounts WHERE name LIKE 'Lost%'"), [["0"]])

        self.standby.pg(pgcluster._bin("pg_ctl"), "-D", self.standby.data, "-w", "promote")
        t = pgcluster.wait_until(lambda: gm.run("account", "add", "After", "--tier", "ordinary").rc == 0,
                                 RESUME_S + 10.0, step=0.1)
        print(f"\nwrites resumed {t:.2f} s after the promotion" if t is not None else "\nwrites never resumed")
        self.assertIsNotNone(t)
        self.assertLessEqual(t, RESUME_S)
        self.assertEqual(self.kamd.proc.pid, pid, "kamd was restarted")
        self.assertTrue(self.kamd.running)
        names = {r[0] for r in self.on_standby("SELECT name FROM accounts")}
        self.assertLessEqual({"Before", "After"}, names)
        self.assertSuccess(gm.run("account", "show", "Before"))
        self.assertSuccess(gm.run("audit", "verify"))
        self.kamd.check_log()


if __name__ == "__main__":
    kamtest.main()
