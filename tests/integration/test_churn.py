"""Rep churn (issue 4): kam user deactivate --handover-to and kam user handover.
Everything a leaver owned moves in one transaction or nothing does; the leaver's
next request fails with exit 3 on every kamd on the database, including a
connection that was already open; who may do it; what the audit says."""

import json

import kamtest
from kamtest import GM, PASSWORD, Closed, Kam, Kamd, RawClient, TestCase, pb, setUpModule, tearDownModule  # noqa: F401


def rows(sql):
    return kamtest.ENV.psql(sql)


def one(sql):
    r = rows(sql)
    return r[0][0] if r else None


class Churn(TestCase):
    """gm; m1 (manager) <- j1 (junior), s1 (solution), mx (manager) <- r1 (junior);
    m2 (manager) <- j2 (junior), s2 (solution). Two kamd on the one database."""

    @classmethod
    def setUpClass(cls):
        env = kamtest.ENV
        cls.a = Kamd(env, name="kamd_a").ensure_gm().start()
        cls.b = Kamd(env, name="kamd_b").start()
        cls.gm = Kam(env, cls.a)
        cls.gm.login(GM)
        for user, role, boss in (("m1", "manager", None), ("j1", "junior", "m1"), ("s1", "solution", "m1"),
                                 ("mx", "manager", "m1"), ("r1", "junior", "mx"), ("m2", "manager", None),
                                 ("j2", "junior", "m2"), ("s2", "solution", "m2"), ("j3", "junior", "m1"),
                                 ("s3", "solution", "m1"), ("s4", "solution", "m1")):
            args = ["user", "add", user, "--role", role, "--password-stdin"] + (["--reports-to", boss] if boss else [])
            cls.gm.ok(*args, stdin=PASSWORD + "\n")
        cls.m1 = cls.login("m1")
        cls.m2 = cls.login("m2")

    @classmethod
    def login(cls, user, kamd=None):
        k = Kam(kamtest.ENV, kamd or cls.a)
        k.login(user)
        return k

    def owner(self, account):
        return one(f"SELECT u.username FROM accounts a JOIN users u ON u.id = a.owner_id WHERE a.name = '{account}'")

    def team(self, account):
        return {r[0] for r in rows(f"SELECT u.username FROM account_team t JOIN accounts a ON a.id = t.account_id "
                                   f"JOIN users u ON u.id = t.user_id WHERE a.name = '{account}'")}

    def test_deactivate_hands_everything_over(self):
        gm = self.gm
        gm.ok("account", "add", "Acme", "--tier", "important", "--owner", "j1")
        gm.ok("account", "add", "Bolt", "--tier", "ordinary", "--owner", "s1")
        gm.ok("account", "assign", "Bolt", "j1")
        gm.ok("account", "add", "Crux", "--tier", "top", "--owner", "s1")
        gm.ok("account", "assign", "Crux", "j1")
        gm.ok("account", "add", "Dune", "--tier", "ordinary", "--owner", "j2")   # not j1's: untouched
        open_id = self.m1.ok("project", "add", "Acme", "Pumps 2025", "--owner", "j1").out.strip()
        won_id = self.m1.ok("project", "add", "Acme", "Valves 2024", "--owner", "j1").out.strip()
        self.m1.ok("project", "close", won_id, "won", "--reason", "best offer")
        gm.ok("barrier", "add", "Acme", "--kind", "certification", "ISO 9001 required", "--owner", "j1")

        # The leaver is logged in on both daemons, and holds an open raw connection.
        on_a, on_b = self.login("j1", self.a), self.login("j1", self.b)
        raw = RawClient(self.a)
        raw.login("j1")
        self.assertRespOk(raw.call("whoami"))
        self.assertSuccess(on_b.run("account", "show", "Acme"))

        r = self.m1.run("user", "deactivate", "j1", "--handover-to", "s1")
        self.assertSuccess(r)
        self.assertIn("deactivated j1", r.out)
        for name in ("Acme", "Bolt", "Crux"):
            self.assertIn(f"  {name}\n", r.out)
        self.assertNotIn("Dune", r.out)

        # The very next request fails with 3, everywhere: both daemons and the open connection.
        self.assertOneError(on_a.run("whoami"), 3)
        self.assertOneError(on_b.run("account", "show", "Acme"), 3)
        # The open connection was ended with "session ended" (id 0) as soon as kamd heard of the
        # deactivation (LISTEN/NOTIFY, test_notify.py), or its next request is refused.
        try:
            req = raw.send(raw.request("whoami"))
            resp = raw.recv_response()
            self.assertIn(resp.id, (0, req.id), resp)
            self.assertRespError(resp, pb.ERROR_CODE_UNAUTHENTICATED)
        except (Closed, OSError):
            pass
        raw.close()
        self.assertOneError(Kam(kamtest.ENV, self.b).run("login", "j1", "--password-stdin", stdin=PASSWORD + "\n"),
                            3, "deactivated")

        # Everything moved, nothing was deleted.
        self.assertEqual(one("SELECT active FROM users WHERE username = 'j1'"), "f")
        self.assertEqual(one("SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id "
                             "WHERE u.username = 'j1' AND s.revoked_at IS NULL"), "0")
        self.assertEqual(self.owner("Acme"), "s1")
        for name in ("Acme", "Bolt", "Crux"):
            self.assertIn("s1", self.team(name))
            self.assertNotIn("j1", self.team(name))
        self.assertEqual(self.team("Dune"), {"j2"})
        self.assertEqual(one(f"SELECT u.username FROM projects p JOIN users u ON u.id = p.owner_id WHERE p.id = {open_id}"),
                         "s1")
        self.assertEqual(one(f"SELECT u.username FROM projects p JOIN users u ON u.id = p.owner_id WHERE p.id = {won_id}"),
                         "j1", "a closed project's history stays as it was")
        self.assertEqual(one("SELECT u.username FROM barriers b JOIN users u ON u.id = b.owner_id "
                             "WHERE b.description = 'ISO 9001 required'"), "s1")
        self.assertEqual(one("SELECT count(*) FROM users WHERE username = 'j1'"), "1")

        # The whole hand-over is in the audit: one entry, and one per account.
        detail = json.loads(one("SELECT detail FROM audit_log WHERE action = 'user.deactivate' "
                                "AND result = 'allowed' AND account_id IS NULL ORDER BY id DESC LIMIT 1"))
        self.assertEqual((detail["user"], detail["to"]), ("j1", "s1"))
        self.assertEqual(sorted(detail["accounts"]), ["Acme", "Bolt", "Crux"])
        self.assertEqual((detail["projects"], detail["barriers"]), (1, 1))
        self.assertGreaterEqual(detail["sessions_revoked"], 3)
        per_account = {r[0] for r in rows("SELECT a.name FROM audit_log l JOIN accounts a ON a.id = l.account_id "
                                          "WHERE l.action = 'user.deactivate'")}
        self.assertEqual(per_account, {"Acme", "Bolt", "Crux"})
        # A manager sees it in the account's trail.
        self.assertIn("user.deactivate", {e["action"] for e in self.m1.json("audit", "log", "--account", "Acme")})
        # Twice is a conflict, not a second hand-over.
        self.assertOneError(self.gm.run("user", "deactivate", "j1", "--handover-to", "s1"), 6, "already deactivated")

    def test_too_junior_refuses_the_whole_handover(self):
        self.gm.ok("account", "add", "Evo", "--tier", "top", "--owner", "s3")
        self.gm.ok("account", "add", "Fax", "--tier", "ordinary", "--owner", "s3")
        r = self.m1.run("user", "deactivate", "s3", "--handover-to", "j3")
        self.assertOneError(r, 6, "Evo", "too junior", "nothing was handed over")
        self.assertNotIn("Fax", r.err)
        # Nothing happened: still active, still the owner of both, still logged in.
        self.assertEqual(one("SELECT active FROM users WHERE username = 's3'"), "t")
        self.assertEqual((self.owner("Evo"), self.owner("Fax")), ("s3", "s3"))
        self.assertEqual(one("SELECT count(*) FROM audit_log WHERE action = 'user.deactivate' "
                             "AND detail->>'user' = 's3'"), "0")
        # A deactivated or unknown colleague is refused too.
        self.assertOneError(self.m1.run("user", "deactivate", "s3", "--handover-to", "nobody"), 5, "no user named nobody")

    def test_who_may(self):
        self.gm.ok("account", "add", "Gala", "--tier", "ordinary", "--owner", "j2")
        j2 = self.login("j2")
        # Reps may not; a manager of another team may not; the leaver's own manager may.
        self.assertOneError(j2.run("user", "deactivate", "s2", "--handover-to", "m2"), 4, "deactivate")
        self.assertOneError(self.m1.run("user", "deactivate", "j2", "--handover-to", "s2"), 4)
        self.assertOneError(self.m1.run("user", "handover", "j2", "--to", "s2"), 4)
        self.assertEqual(one("SELECT result FROM audit_log WHERE action = 'user.handover' ORDER BY id DESC LIMIT 1"),
                         "denied")
        self.assertOneError(self.m1.run("user", "deactivate", "m2", "--handover-to", "s1"), 4)
        self.assertOneError(self.m1.run("user", "deactivate", "m1", "--handover-to", "s1"), 6, "yourself")
        self.assertOneError(self.gm.run("user", "deactivate", "gm", "--handover-to", "m1"), 6, "yourself")
        self.assertOneError(self.gm.run("user", "deactivate", "j2"), 2, "--handover-to")
        self.assertEqual(self.owner("Gala"), "j2")

    def test_reports_move_to_a_manager(self):
        self.gm.ok("account", "add", "Hex", "--tier", "ordinary", "--owner", "mx")
        # mx (reporting to m1) has r1 reporting to them: a rep cannot take people over.
        self.assertOneError(self.m1.run("user", "deactivate", "mx", "--handover-to", "s4"), 6, "report to mx")
        self.assertEqual(one("SELECT active FROM users WHERE username = 'mx'"), "t")
        r = self.m1.json("user", "deactivate", "mx", "--handover-to", "m2")
        self.assertEqual(r["reports"], ["r1"])
        self.assertEqual(r["accounts"], ["Hex"])
        self.assertIs(r["user"]["active"], False)
        self.assertEqual(one("SELECT m.username FROM users u JOIN users m ON m.id = u.reports_to "
                             "WHERE u.username = 'r1'"), "m2")

    def test_handover_some_accounts(self):
        for name, tier in (("Ion", "ordinary"), ("Jet", "important"), ("Kin", "ordinary")):
            self.gm.ok("account", "add", name, "--tier", tier, "--owner", "s4")
        jet = one("SELECT id FROM accounts WHERE name = 'Jet'")
        r = self.m1.run("user", "handover", "s4", "--to", "s1", "--account", "Ion", "--account", jet)
        self.assertSuccess(r)
        self.assertIn("handed 2 accounts", r.out)
        self.assertEqual((self.owner("Ion"), self.owner("Jet"), self.owner("Kin")), ("s1", "s1", "s4"))
        self.assertEqual(one("SELECT active FROM users WHERE username = 's4'"), "t", "a hand-over deactivates nobody")
        # An account the user is not on reads like a missing one; nothing moves.
        self.assertOneError(self.m1.run("user", "handover", "s4", "--to", "s1", "--account", "Kin", "--account",
                                        "Acme"), 5, "no account named Acme")
        self.assertOneError(self.m1.run("user", "handover", "s4", "--to", "s1", "--account", "Nope"), 5)
        self.assertEqual(self.owner("Kin"), "s4")
        self.assertOneError(self.m1.run("user", "handover", "s4", "--to", "s4"), 6)


if __name__ == "__main__":
    kamtest.main()
