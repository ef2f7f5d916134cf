"""kam review through the real kam and kamd: one account layer by layer with
the gaps of its tier, support balances and involvement; a team's accounts one
row each, sortable, in JSON, paged; who may review which team; what reps do
not see left out.

The organisation:
    gm (GM)
    m1 (manager) <- s1 (solution), j1 (junior), m3 (manager) <- j3 (junior)
    m2 (manager)
    Alpha  top        owner s1   everything the method asks for: no gaps
    Beta   strategic  owner m1   nothing yet: four gaps
    Gamma  important  owner j1   a barrier without a breakthrough, a project joined late
    Delta  ordinary   owner j3   (m1 sees it through m3)
    Omega  important  owner m2   not m1's
"""

import json

import kamtest
from kamtest import GM, PASSWORD, Kam, Kamd, RawClient, TestCase, pb, setUpModule, tearDownModule  # noqa: F401

USERS = [("m1", "manager", None), ("m2", "manager", None), ("s1", "solution", "m1"), ("j1", "junior", "m1"),
         ("m3", "manager", "m1"), ("j3", "junior", "m3")]
ACCOUNTS = [("Alpha", "top", "s1"), ("Beta", "strategic", "m1"), ("Gamma", "important", "j1"),
            ("Delta", "ordinary", "j3"), ("Omega", "important", "m2")]


class Review(TestCase):

    @classmethod
    def setUpClass(cls):
        env = kamtest.ENV
        cls.kamd = Kamd(env).ensure_gm().start()
        cls.kam = {GM: Kam(env, cls.kamd)}
        gm = cls.kam[GM]
        gm.login(GM)
        for name, role, boss in USERS:
            gm.ok("user", "add", name, "--role", role, "--password-stdin", *(["--reports-to", boss] if boss else []),
                  stdin=PASSWORD + "\n")
            cls.kam[name] = Kam(env, cls.kamd)
            cls.kam[name].login(name)
        for name, tier, owner in ACCOUNTS:
            gm.ok("account", "add", name, "--tier", tier, "--owner", owner)
        # Alpha: every layer the method asks of a TOP account.
        gm.ok("account", "set", "Alpha", "founded=1990", "headcount=800", "business=valves", "revenue=9900000",
              "currency=EUR", "strategy=attack")
        gm.ok("barrier", "add", "Alpha", "--kind", "certification", "needs ISO 9001", "--breakthrough",
              "certify by Q3")
        cls.alpha_p = int(gm.ok("project", "add", "Alpha", "Valve swap", "--stage", "need").out)
        gm.ok("contact", "add", "Alpha", "Ann Lee", "--title", "COO", "--decision-role", "decision maker",
              "--weight", "50", "--stance", "support", "--projects", str(cls.alpha_p))
        gm.ok("contact", "add", "Alpha", "Bo Kim", "--title", "Buyer", "--decision-role", "user",
              "--weight", "20", "--stance", "oppose", "--projects", str(cls.alpha_p))
        gm.ok("value", "add", "Alpha", "--level", "business", "no leaks")
        # Gamma: a barrier nobody plans to break, a project we joined at procurement.
        cls.gamma_b = int(gm.ok("barrier", "add", "Gamma", "--kind", "habit", "buys from the founder's cousin").out)
        cls.gamma_p = int(gm.ok("project", "add", "Gamma", "Tender 2027", "--stage", "procurement").out)
        gm.ok("account", "set", "Gamma", "founded=2001", "headcount=40", "business=pipes", "revenue=100",
              "currency=EUR")

    def review(self, user, *args):
        return self.kam[user].json("review", *args)

    def team(self, user, *args):
        return self.kam[user].ok("review", "--team", *args)

    def names(self, table):
        return [line.split()[1] for line in table.out.splitlines()[1:]]

    # ---- one account ----

    def test_complete_account_has_no_gaps(self):
        doc = self.review("m1", "Alpha")
        self.assertEqual(doc["gaps"], [])
        acc = doc["account"]
        self.assertEqual((acc["tier"], acc["stage"], acc["strategy"]), ("top", "breakthrough", "attack"))
        p = next(p for p in acc["projects"] if p["id"] == self.alpha_p)
        self.assertEqual(p["involvement"], {"joined": "need", "stages_taken": ["need"], "count": 1})
        self.assertEqual(p["support"], {"for": 50, "against": 20, "supporters_lead": True})
        for key in ("information", "barriers", "projects", "contacts", "values", "agreements"):
            self.assertIn(key, acc)
        r = self.kam["m1"].ok("review", "Alpha")
        self.assertIn("Gaps for a top account (0):\n    (none)", r.out)
        self.assertRegex(r.out, r"Support: 50 for, 20 against: supporters lead")
        self.assertIn("Stage breakthrough, strategy attack", r.out)

    def test_gaps_by_tier(self):
        codes = sorted(g["code"] for g in self.review("m1", "Beta")["gaps"])
        self.assertEqual(codes, ["information_incomplete", "no_decision_makers", "no_strategy",
                                 "no_value_proposition"])
        gaps = self.review("j1", "Gamma")["gaps"]
        self.assertEqual(sorted((g["code"], g.get("ref")) for g in gaps),
                         [("barrier_without_breakthrough", self.gamma_b), ("joined_late", self.gamma_p)])
        self.assertEqual(self.review("j3", "Delta")["gaps"], [], "an ordinary account needs no plan")
        r = self.kam["j1"].ok("review", "Gamma")
        self.assertIn("Gaps for an important account (2):", r.out)
        self.assertIn(f"project {self.gamma_p}: we joined late, at procurement", r.out)

    def test_supporters_who_do_not_lead_is_a_gap_managers_see(self):
        p = int(self.kam[GM].ok("project", "add", "Alpha", "Pumps too", "--stage", "problem").out)
        c = int(self.kam[GM].ok("contact", "add", "Alpha", "Cy Ho", "--title", "CFO", "--decision-role",
                                "economic buyer", "--weight", "90", "--stance", "oppose", "--projects", str(p)).out)
        try:
            gaps = self.review("m1", "Alpha")["gaps"]
            self.assertIn(("supporters_do_not_lead", p), [(g["code"], g.get("ref")) for g in gaps])
            # The same review for the rep on the account: no balance, no gap that would give it away.
            doc = self.review("s1", "Alpha")
            self.assertEqual(doc["gaps"], [])
            self.assertFalse(any("support" in x for x in doc["account"]["projects"]))
            self.assertFalse(any(k in x for x in doc["account"]["contacts"] for k in ("weight", "stance",
                                                                                         "personal_needs")))
            self.assertNotIn("Support:", self.kam["s1"].ok("review", "Alpha").out)
        finally:
            self.kam[GM].ok("contact", "set", str(c), "stance=neutral")
            self.kam[GM].ok("project", "close", str(p), "lost", "--reason", "test over")

    def test_review_account_visibility(self):
        self.assertOneError(self.kam["j1"].run("review", "Alpha"), 5, "no account named Alpha")
        self.assertOneError(self.kam["m1"].run("review", "Omega"), 5, "no account named Omega")
        self.assertOneError(self.kam["m1"].run("review", "Nowhere"), 5, "no account named Nowhere")
        self.assertOneError(self.kam["m1"].run("review", "Alpha", "--sort", "name"), 2, "--team")
        rows = kamtest.ENV.psql("SELECT result FROM audit_log WHERE action = 'review.account' AND username = 'j1'")
        self.assertIn(["denied"], rows)

    # ---- a team ----

    def test_team_rows_and_default_order(self):
        r = self.team("m1")
        self.assertEqual(r.out.splitlines()[0].split(), ["ID", "NAME", "TIER", "STAGE", "STRATEGY", "OWNER",
                                                         "OPEN_PROJECTS", "SUPPORT", "GAPS"])
        # Most gaps first; Omega is another manager's; Delta comes through m3, who reports to m1.
        self.assertEqual(self.names(r), ["Beta", "Gamma", "Alpha", "Delta"])
        rows = {x["name"]: x for x in self.kam["m1"].json("review", "--team")}
        self.assertEqual(set(rows), {"Alpha", "Beta", "Gamma", "Delta"})
        alpha = rows["Alpha"]
        self.assertEqual((alpha["tier"], alpha["owner"], alpha["open_projects"], alpha["gaps"]), ("top", "s1", 1, 0))
        self.assertEqual(alpha["support"], {"for": 50, "against": 20, "projects_led": 1})
        self.assertEqual((rows["Beta"]["gaps"], rows["Gamma"]["gaps"], rows["Delta"]["gaps"]), (4, 2, 0))
        self.assertNotIn("strategy", rows["Beta"], "undecided is absent")

    def test_team_sorting(self):
        self.assertEqual(self.names(self.team("m1", "--sort", "name")), ["Alpha", "Beta", "Delta", "Gamma"])
        self.assertEqual(self.names(self.team("m1", "--sort", "name", "--reverse")), ["Gamma", "Delta", "Beta", "Alpha"])
        self.assertEqual(self.names(self.team("m1", "--sort", "tier")), ["Beta", "Alpha", "Gamma", "Delta"])
        self.assertEqual(self.names(self.team("m1", "--sort", "projects"))[:2], ["Alpha", "Gamma"])
        self.assertEqual(self.names(self.team("m1", "--sort", "owner")), ["Gamma", "Delta", "Beta", "Alpha"])
        self.assertEqual([x["name"] for x in self.kam["m1"].json("review", "--team", "--sort", "gaps", "--reverse")],
                         ["Alpha", "Delta", "Gamma", "Beta"])
        self.assertOneError(self.kam["m1"].run("review", "--team", "--sort", "colour"), 2, "sort key")

    def test_whose_team(self):
        self.assertEqual(self.names(self.team("m1", "s1")), ["Alpha"])
        self.assertEqual(self.names(self.team("m1", "m3")), ["Delta"])
        self.assertEqual(self.names(self.team("m1", "j3")), ["Delta"], "a report's report is in the line too")
        self.assertEqual(self.names(self.team(GM, "m2")), ["Omega"])
        self.assertEqual(set(self.names(self.team(GM))), {"Alpha", "Beta", "Gamma", "Delta", "Omega"})
        # Outside the line reads exactly like a user that does not exist.
        for user in ("m2", "ghost"):
            self.assertOneError(self.kam["m1"].run("review", "--team", user), 5, f"no team of user {user}")
        self.assertOneError(self.kam["j1"].run("review", "--team"), 4, "review a team")
        self.assertOneError(self.kam["s1"].run("review", "--team", "s1"), 4)
        self.assertOneError(self.kam["j1"].run("review", "--team", "m1"), 5, "no team of user m1")
        self.assertOneError(self.kam["m3"].run("review", "--team", "m1"), 5)
        # A GM who (oddly) reports to m1 sees everything, but m1 reviewing them sees no more than m1 may.
        self.kam[GM].ok("user", "add", "g2", "--role", "gm", "--reports-to", "m1", "--password-stdin",
                        stdin=PASSWORD + "\n")
        self.assertEqual(self.kam["m1"].json("review", "--team", "g2"), [], "not every account of the company")
        # Once g2 works on Omega, m1 manages someone on it and sees it: in the review as everywhere.
        self.kam[GM].ok("account", "assign", "Omega", "g2")
        self.assertEqual([x["name"] for x in self.kam["m1"].json("review", "--team", "g2")], ["Omega"])
        self.kam["m1"].ok("account", "show", "Omega")
        self.kam[GM].ok("account", "unassign", "Omega", "g2")
        self.assertOneError(self.kam["m1"].run("account", "show", "Omega"), 5)
        rows = kamtest.ENV.psql("SELECT result, detail->>'user' FROM audit_log WHERE action = 'review.team' "
                                "AND username = 'm1' ORDER BY id")
        self.assertIn(["allowed", "s1"], rows)
        self.assertIn(["denied", None], [[r[0], r[1] or None] for r in rows])

    def test_team_paging_on_the_wire(self):
        with RawClient(self.kamd) as c:
            c.login("m1")
            seen, after = [], 0
            while True:
                resp = c.call("review_team", after_id=after, limit=3)
                self.assertRespOk(resp)
                page = resp.review_team
                self.assertLessEqual(len(page.rows), 3)
                seen += [r.account.name for r in page.rows]
                if not page.next_after_id:
                    break
                self.assertGreater(page.next_after_id, after)
                after = page.next_after_id
            self.assertEqual(sorted(seen), ["Alpha", "Beta", "Delta", "Gamma"])
            resp = c.call("review_team", limit=1001)
            self.assertRespError(resp, pb.ERROR_CODE_INVALID_ARGUMENT, "limit")


if __name__ == "__main__":
    kamtest.main()
