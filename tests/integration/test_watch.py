"""The bulk-read watch (issue 4): a user who reads more distinct accounts than the
limit within the window is refused (exit 4, a clear message), flagged on the
audit trail and in their manager's kam audit alerts, until a manager or the GM
clears it. Listing does not count; parallel requests cannot slip past it."""

import json

import kamtest
from kamtest import GM, PASSWORD, Kam, Kamd, RawClient, TestCase, pb, setUpModule, tearDownModule  # noqa: F401

LIMIT = 3
MANAGER_LIMIT = 5


def rows(sql):
    return kamtest.ENV.psql(sql)


class Watch(TestCase):

    @classmethod
    def setUpClass(cls):
        env = kamtest.ENV
        cls.kamd = Kamd(env, extra={"bulk_read_limit": str(LIMIT), "bulk_read_window": "600",
                                    "bulk_read_limit_manager": str(MANAGER_LIMIT)}).ensure_gm().start()
        cls.gm = Kam(env, cls.kamd)
        cls.gm.login(GM)
        for user, role, boss in (("m1", "manager", None), ("j1", "junior", "m1"), ("j2", "junior", "m1"),
                                 ("m2", "manager", None), ("j3", "junior", "m1")):
            args = ["user", "add", user, "--role", role, "--password-stdin"] + (["--reports-to", boss] if boss else [])
            cls.gm.ok(*args, stdin=PASSWORD + "\n")
        for owner, n in (("j1", 5), ("j2", 8), ("j3", 2)):
            for i in range(n):
                cls.gm.ok("account", "add", f"{owner}-acc{i}", "--tier", "ordinary", "--owner", owner)
        cls.m1 = cls.login("m1")
        cls.m2 = cls.login("m2")

    @classmethod
    def login(cls, user):
        k = Kam(kamtest.ENV, cls.kamd)
        k.login(user)
        return k

    def test_flag_refuse_alert_clear(self):
        j1 = self.login("j1")
        for i in range(LIMIT):
            self.assertSuccess(j1.run("account", "show", f"j1-acc{i}"))
        # Reading an account again is not another account; listing shows names only.
        self.assertSuccess(j1.run("account", "show", "j1-acc0"))
        self.assertSuccess(j1.run("account", "list"))
        r = j1.run("account", "show", f"j1-acc{LIMIT}")
        line = self.assertOneError(r, 4, "reading refused", "kam audit clear j1")
        self.assertIn(f"more than {LIMIT} accounts within 10 minutes", line)
        # Flagged: further reads are refused, even of an account read before.
        self.assertOneError(j1.run("account", "show", "j1-acc0"), 4, "reading refused")
        self.assertOneError(j1.run("account", "show", "j1-acc1", json=True), 4, json=True)
        self.assertSuccess(j1.run("account", "list"))

        # The trail: one watch.flag entry, and the refused reads as denied.
        flag = rows("SELECT username, result, detail FROM audit_log WHERE action = 'watch.flag' "
                    "AND detail->>'subject' = 'j1'")
        self.assertEqual(len(flag), 1)
        detail = json.loads(flag[0][2])
        self.assertEqual((detail["reads"], detail["limit"], detail["window_s"]), (LIMIT + 1, LIMIT, 600))
        denied = rows("SELECT detail->>'denied' FROM audit_log WHERE username = 'j1' AND action = 'account.show' "
                      "AND result = 'denied'")
        self.assertGreaterEqual(len(denied), 3)
        self.assertTrue(all(d[0] == "bulk_read" for d in denied))

        # j1's manager sees the alert; another manager does not; a rep may not look.
        alerts = self.m1.json("audit", "alerts")
        self.assertIn("j1", [a["user"] for a in alerts])
        a = next(a for a in alerts if a["user"] == "j1")
        self.assertEqual((a["reports_to"], a["reads"], a["limit"], a["window_s"]), ("m1", LIMIT + 1, LIMIT, 600))
        table = self.m1.run("audit", "alerts")
        self.assertSuccess(table)
        self.assertRegex(table.out, r"^USER +REPORTS_TO +FLAGGED +READS +LIMIT +WINDOW\n")
        self.assertRegex(table.out, rf"\nj1 +m1 +\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d +{LIMIT + 1} +{LIMIT} +600 s\n")
        self.assertNotIn("j1", [a["user"] for a in self.m2.json("audit", "alerts")])
        self.assertOneError(j1.run("audit", "alerts"), 4)

        # Cleared only by a manager of j1 or the GM.
        self.assertOneError(j1.run("audit", "clear", "j1"), 4)
        self.assertOneError(self.m2.run("audit", "clear", "j1"), 4)
        r = self.m1.run("audit", "clear", "j1")
        self.assertSuccess(r)
        self.assertIn("cleared the bulk-read flag of j1", r.out)
        self.assertEqual(rows("SELECT username FROM audit_log WHERE action = 'audit.clear' ORDER BY id DESC LIMIT 1"),
                         [["m1"]])
        self.assertOneError(self.m1.run("audit", "clear", "j1"), 5, "not flagged")
        self.assertSuccess(j1.run("account", "show", f"j1-acc{LIMIT}"))
        self.assertNotIn("j1", [a["user"] for a in self.m1.json("audit", "alerts")])

    def test_parallel_reads_cannot_slip_past(self):
        """Sixteen reads of eight accounts at once, on two connections: exactly LIMIT pass."""
        conns = [RawClient(self.kamd), RawClient(self.kamd)]
        for c in conns:
            c.login("j2")
        sent = {}
        for c in conns:
            for i in range(8):
                req = c.send(c.request("account_show", account=f"j2-acc{i}"))
                sent[(id(c), req.id)] = i
        ok = set()
        for c in conns:
            for _ in range(8):
                resp = c.recv_response()
                i = sent[(id(c), resp.id)]
                if resp.HasField("error"):
                    self.assertEqual(resp.error.code, pb.ERROR_CODE_PERMISSION_DENIED, resp)
                else:
                    ok.add(i)
            c.close()
        self.assertEqual(len(ok), LIMIT, f"distinct accounts read: {sorted(ok)}")
        self.assertEqual(rows("SELECT count(*) FROM audit_log WHERE action = 'watch.flag' "
                              "AND detail->>'subject' = 'j2'"), [["1"]])

    def test_managers_have_their_own_limit_and_the_gm_none(self):
        m1 = self.login("m1")
        names = [f"j1-acc{i}" for i in range(5)] + ["j3-acc0", "j3-acc1"]
        for name in names[:MANAGER_LIMIT]:
            self.assertSuccess(m1.run("account", "show", name))
        self.assertOneError(m1.run("account", "show", names[MANAGER_LIMIT]), 4, "kam audit clear m1")
        # Nobody m1 reports to: only the GM clears it, and sees it.
        self.assertIn("m1", [a["user"] for a in self.gm.json("audit", "alerts")])
        self.assertOneError(m1.run("audit", "clear", "m1"), 4)
        self.assertSuccess(self.gm.run("audit", "clear", "m1"))
        self.assertSuccess(m1.run("account", "show", names[MANAGER_LIMIT]))
        for name in names + [f"j2-acc{i}" for i in range(8)]:
            self.assertSuccess(self.gm.run("account", "show", name))


if __name__ == "__main__":
    kamtest.main()
