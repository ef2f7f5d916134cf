"""The five layers through the real kam and kamd: barriers, projects (stages,
moves backwards and over stages, won/lost, involvement), contacts (and what reps
may not see of them), value propositions, strategic agreements, the layered
`account show`, validation naming the field, the audit rows, a daemon restart.

The organisation:
    gm (GM)
    m1 (manager) <- s1 (solution), j1 (junior)        m2 (manager)
    Acme   top        owner s1, team s1 j1
    Zenith important  owner m2
"""

import json

import kamtest
from kamtest import GM, PASSWORD, Kam, Kamd, RawClient, TestCase, pb, setUpModule, tearDownModule  # noqa: F401

USERS = [("m1", "manager", None), ("m2", "manager", None), ("s1", "solution", "m1"), ("j1", "junior", "m1")]
SENSITIVE = ("weight", "stance", "personal_needs")


class Layers(TestCase):

    @classmethod
    def setUpClass(cls):
        env = kamtest.ENV
        cls.kamd = Kamd(env).ensure_gm().start()
        cls.kam = {GM: Kam(env, cls.kamd)}
        cls.kam[GM].login(GM)
        for name, role, boss in USERS:
            args = ["user", "add", name, "--role", role, "--password-stdin"] + (["--reports-to", boss] if boss else [])
            cls.kam[GM].ok(*args, stdin=PASSWORD + "\n")
            cls.kam[name] = Kam(env, cls.kamd)
            cls.kam[name].login(name)
        cls.kam[GM].ok("account", "add", "Acme", "--tier", "top", "--owner", "s1")
        cls.kam[GM].ok("account", "assign", "Acme", "j1")
        cls.kam[GM].ok("account", "add", "Zenith", "--tier", "important", "--owner", "m2")

    def as_(self, user, *args, **kw):
        return self.kam[user].run(*args, **kw)

    def ok_id(self, user, *args):
        """Run an add command; it prints the new id alone."""
        r = self.kam[user].ok(*args)
        self.assertRegex(r.out, r"^\d+\n$", f"{r}")
        return int(r.out)

    def audit_rows(self, where):
        return kamtest.ENV.psql(f"SELECT action, result, account_id, username, detail FROM audit_log WHERE {where} "
                                "ORDER BY id")

    # ---- barriers ----

    def test_barriers(self):
        b = self.ok_id("j1", "barrier", "add", "Acme", "--kind", "prequalification", "Not on the federal list")
        rows = self.kam["j1"].json("barrier", "list", "Acme")
        mine = next(x for x in rows if x["id"] == b)
        self.assertEqual((mine["kind"], mine["status"], mine["owner"], mine["description"]),
                         ("prequalification", "open", "j1", "Not on the federal list"))
        self.assertNotIn("breakthrough", mine, "not planned yet: absent, not empty")
        r = self.kam["s1"].ok("barrier", "list", "Acme")
        self.assertEqual(r.out.splitlines()[0].split(),
                         ["ID", "KIND", "STATUS", "OWNER", "DUE", "BREAKTHROUGH", "DESCRIPTION"])
        self.assertRegex(r.out, rf"(?m)^\s*{b}\s+prequalification\s+open\s+j1\s")

        doc = self.kam["j1"].json("barrier", "set", str(b), "status=working", "breakthrough=get listed via a partner",
                                  "due=2027-03-31", "owner=s1")
        self.assertEqual((doc["status"], doc["breakthrough"], doc["due"], doc["owner"], doc["version"]),
                         ("working", "get listed via a partner", "2027-03-31", "s1", 2))
        self.assertEqual(self.kam["j1"].ok("barrier", "clear", str(b)).out, f"barrier {b} cleared\n")
        doc = next(x for x in self.kam["j1"].json("barrier", "list", "Acme") if x["id"] == b)
        self.assertEqual(doc["status"], "cleared")
        self.assertIn("cleared_at", doc)
        self.assertOneError(self.as_("j1", "barrier", "clear", str(b)), 6, "cleared already")
        # An owner must be on the team; the kind a keyword; dates real.
        self.assertOneError(self.as_("j1", "barrier", "set", str(b), "owner=m2"), 6, "owner", "not on the team")
        self.assertOneError(self.as_("j1", "barrier", "set", str(b), "kind=luck"), 6, "kind")
        self.assertOneError(self.as_("j1", "barrier", "set", str(b), "due=2027-02-30"), 6, "due")
        self.assertOneError(self.as_("j1", "barrier", "add", "Acme", "--kind", "luck", "x"), 2, "barrier kind")
        self.assertOneError(self.as_("j1", "barrier", "add", "Acme", "x"), 2, "--kind")
        self.assertOneError(self.as_("j1", "barrier", "set", "abc", "status=open"), 2)
        # Another team's barrier is as missing as one that does not exist.
        self.assertOneError(self.as_("m2", "barrier", "set", str(b), "status=open"), 5, f"no barrier {b}")
        self.assertOneError(self.as_("m2", "barrier", "set", "999999", "status=open"), 5, "no barrier 999999")
        self.assertOneError(self.as_("m2", "barrier", "list", "Acme"), 5, "no account named Acme")
        rows = self.audit_rows(f"action LIKE 'barrier.%' AND username IN ('j1', 'm2')")
        self.assertIn("barrier.add", [r[0] for r in rows if r[1] == "allowed"])
        self.assertIn(["barrier.set", "denied"], [r[:2] for r in rows if r[3] == "m2"])
        detail = next(json.loads(r[4]) for r in rows if r[0] == "barrier.set" and r[1] == "allowed")
        self.assertEqual(detail["barrier"], b)
        self.assertEqual(detail["changes"]["status"], {"before": "open", "after": "working"})

    # ---- projects ----

    def test_projects(self):
        p = self.ok_id("s1", "project", "add", "Acme", "Pump retrofit", "--stage", "problem",
                       "--value", "12000050", "--currency", "EUR", "--close", "2027-06-30")
        self.assertOneError(self.as_("j1", "project", "add", "Acme", "Junior's idea"), 4, "junior")
        r = self.kam["s1"].ok("project", "advance", str(p), "need")
        self.assertEqual(r.out, f"project {p}: problem -> need\n")
        r = self.kam["s1"].ok("project", "advance", str(p), "procurement")
        self.assertIn("(skipped)", r.out)
        r = self.kam["s1"].ok("project", "advance", str(p), "solution")
        self.assertIn("(backwards)", r.out)
        self.assertOneError(self.as_("s1", "project", "advance", str(p), "solution"), 6, "already")
        self.assertOneError(self.as_("s1", "project", "advance", str(p), "done"), 2, "project stage")
        doc = self.kam["j1"].json("project", "show", str(p))
        self.assertEqual((doc["name"], doc["stage"], doc["status"], doc["owner"]),
                         ("Pump retrofit", "solution", "open", "s1"))
        self.assertEqual(doc["involvement"], {"joined": "problem", "count": 4,
                                              "stages_taken": ["problem", "need", "solution", "procurement"]})
        self.assertEqual(doc["expected_value"], {"amount_minor": 12000050, "currency": "EUR"})
        self.assertEqual(doc["close_date"], "2027-06-30")
        self.assertEqual([(m["kind"], m.get("from"), m.get("to")) for m in doc["history"]],
                         [("start", None, "problem"), ("forward", "problem", "need"),
                          ("skip", "need", "procurement"), ("back", "procurement", "solution")])
        self.assertTrue(all(m["by"] == "s1" for m in doc["history"]))
        self.assertNotIn("support", doc, "a junior sees no support balance")
        self.assertEqual(doc["contacts"], [])

        doc = self.kam["s1"].json("project", "set", str(p), "value=", "currency=", "name=Pump retrofit 2")
        self.assertNotIn("expected_value", doc)
        self.assertOneError(self.as_("s1", "project", "set", str(p), "value=100"), 6, "currency")
        self.assertOneError(self.as_("s1", "project", "set", str(p), "stage=need"), 6, "stage")
        self.assertOneError(self.as_("s1", "project", "close", str(p), "won"), 2, "--reason")
        doc = self.kam["s1"].json("project", "close", str(p), "won", "--reason", "best total cost")
        self.assertEqual((doc["status"], doc["reason"], doc["history"][-1]["kind"]), ("won", "best total cost", "won"))
        self.assertOneError(self.as_("s1", "project", "advance", str(p), "delivery"), 6, "closed (won)")
        self.assertOneError(self.as_("s1", "project", "close", str(p), "lost", "--reason", "x"), 6, "closed")
        r = self.kam["j1"].ok("project", "list", "Acme")
        self.assertEqual(r.out.splitlines()[0].split(),
                         ["ID", "NAME", "STAGE", "STATUS", "OWNER", "VALUE", "JOINED/STAGES", "CLOSE", "SUPPORT"])
        self.assertRegex(r.out, rf"(?m)^\s*{p}\s+Pump retrofit 2\s+solution\s+won\s+s1\s")
        self.assertOneError(self.as_("m2", "project", "show", str(p)), 5, f"no project {p}")
        self.assertOneError(self.as_("s1", "project", "add", "Acme", "x", "--owner", "m2"), 6, "owner")
        self.assertOneError(self.as_("s1", "project", "add", "Acme", "x", "--close", "tomorrow"), 6, "close")

    # ---- contacts: what reps do not see ----

    def test_contacts_and_field_visibility(self):
        p = self.ok_id("s1", "project", "add", "Acme", "Control room", "--stage", "need")
        c = self.ok_id("m1", "contact", "add", "Acme", "Jane Roe", "--title", "CTO", "--decision-role",
                       "decision maker", "--weight", "80", "--stance", "support", "--criteria", "uptime",
                       "--org-needs", "fewer outages", "--personal-needs", "wants the board's praise",
                       "--projects", str(p))
        self.ok_id("m1", "contact", "add", "Acme", "Rick Doe", "--title", "CFO", "--decision-role", "economic buyer",
                   "--weight", "30", "--stance", "oppose", "--projects", str(p))
        self.assertOneError(self.as_("s1", "contact", "add", "Acme", "X", "--title", "t", "--decision-role", "r"),
                            4, "contacts")
        for rep in ("s1", "j1"):
            with self.subTest(rep=rep):
                mine = next(x for x in self.kam[rep].json("contact", "list", "Acme") if x["id"] == c)
                for key in SENSITIVE:
                    self.assertNotIn(key, mine, f"{rep} must not see {key}")
                self.assertEqual((mine["name"], mine["title"], mine["decision_role"], mine["criteria"],
                                  mine["org_needs"], mine["projects"]),
                                 ("Jane Roe", "CTO", "decision maker", "uptime", "fewer outages", [p]))
                r = self.kam[rep].ok("contact", "list", "Acme")
                self.assertEqual(r.out.splitlines()[0].split(), ["ID", "NAME", "TITLE", "DECISION_ROLE", "PROJECTS"])
                self.assertNotIn("support", r.out)
                self.assertNotIn("praise", self.kam[rep].ok("account", "show", "Acme").out)
                shown = self.kam[rep].json("account", "show", "Acme")
                self.assertFalse(any(k in x for x in shown["contacts"] for k in SENSITIVE), f"{shown['contacts']}")
                proj = self.kam[rep].json("project", "show", str(p))
                self.assertNotIn("support", proj)
                self.assertFalse(any(k in x for x in proj["contacts"] for k in SENSITIVE))
        mine = next(x for x in self.kam["m1"].json("contact", "list", "Acme") if x["id"] == c)
        self.assertEqual((mine["weight"], mine["stance"], mine["personal_needs"]),
                         (80, "support", "wants the board's praise"))
        r = self.kam["m1"].ok("contact", "list", "Acme")
        self.assertEqual(r.out.splitlines()[0].split(),
                         ["ID", "NAME", "TITLE", "DECISION_ROLE", "WEIGHT", "STANCE", "PROJECTS"])
        proj = self.kam["m1"].json("project", "show", str(p))
        self.assertEqual(proj["support"], {"for": 80, "against": 30, "supporters_lead": True})
        self.assertEqual(sorted(x["name"] for x in proj["contacts"]), ["Jane Roe", "Rick Doe"])

        doc = self.kam["m1"].json("contact", "set", str(c), "stance=", "weight=55", "projects=")
        self.assertNotIn("stance", doc)
        self.assertNotIn("projects", doc)
        self.assertEqual(doc["weight"], 55)
        self.assertOneError(self.as_("m1", "contact", "set", str(c), "weight=150"), 6, "weight")
        self.assertOneError(self.as_("m1", "contact", "set", str(c), "projects=999999"), 6, "projects")
        zp = self.ok_id(GM, "project", "add", "Zenith", "Elsewhere")
        self.assertOneError(self.as_("m1", "contact", "set", str(c), f"projects={zp}"), 6, "projects")
        self.assertOneError(self.as_("j1", "contact", "set", str(c), "title=CEO"), 4)
        self.assertOneError(self.as_("m2", "contact", "set", str(c), "title=CEO"), 5, f"no contact {c}")

    def test_reps_get_no_sensitive_bytes_on_the_wire(self):
        """What the CLI leaves out must not be on the wire either: a client of one's own sees no more."""
        p = self.ok_id("s1", "project", "add", "Acme", "Wire check")
        self.ok_id("m1", "contact", "add", "Acme", "Pat Wire", "--title", "CIO", "--decision-role", "approver",
                   "--weight", "65", "--stance", "oppose", "--personal-needs", "a quiet life", "--projects", str(p))
        for user, sensitive in (("j1", False), ("s1", False), ("m1", True)):
            with self.subTest(user=user), RawClient(self.kamd) as c:
                c.login(user)
                for body in ("contact_list", "account_layers", "review_account"):
                    resp = c.call(body, account="Acme")
                    self.assertRespOk(resp)
                    msg = getattr(resp, body)
                    layers = msg.layers
                    pat = next(x for x in layers.contacts if x.name == "Pat Wire")
                    self.assertEqual((pat.HasField("weight"), pat.stance != 0, pat.personal_needs != ""),
                                     (sensitive,) * 3, f"{user} {body}: {pat}")
                    self.assertEqual(layers.restricted, not sensitive)
                    self.assertNotIn(b"a quiet life" if not sensitive else b"\x00never", resp.SerializeToString())
                    if body != "contact_list":
                        wire = next(x for x in layers.projects if x.id == p)
                        self.assertEqual(wire.HasField("support"), sensitive)
                # (id= would name the envelope's request id: the body goes as a message.)
                resp = c.call("project_show", msg=pb.LayerItemRequest(id=p))
                self.assertRespOk(resp)
                self.assertEqual(resp.project_show.layers.projects[0].HasField("oppose"), sensitive)

    # ---- interest ----

    def test_values_and_agreements(self):
        v = self.ok_id("m1", "value", "add", "Acme", "--level", "business", "cuts unplanned downtime by half")
        self.assertOneError(self.as_("s1", "value", "add", "Acme", "--level", "business", "x"), 4, "value propositions")
        self.assertOneError(self.as_("m1", "value", "add", "Acme", "--level", "personal", "x"), 2, "value level")
        rows = self.kam["j1"].json("value", "list", "Acme")
        self.assertIn({"id": v, "level": "business", "text": "cuts unplanned downtime by half", "author": "m1"},
                      [{k: x[k] for k in ("id", "level", "text", "author")} for x in rows])
        args = ["agreement", "add", "Acme", "--signed-by", "CEOs of both", "--signed-on", "2026-01-10",
                "--scope", "all pumping stations", "--term", "36"]
        self.assertOneError(self.as_("m1", *args), 4, "the GM")
        a = self.ok_id(GM, *args)
        rows = self.kam["s1"].json("agreement", "list", "Acme")
        mine = next(x for x in rows if x["id"] == a)
        self.assertEqual((mine["signed_on"], mine["term_months"], mine["recorded_by"]), ("2026-01-10", 36, GM))
        self.assertOneError(self.as_(GM, "agreement", "add", "Acme", "--signed-by", "x", "--signed-on", "2026-02-30",
                                     "--scope", "x"), 6, "signed_on")
        r = self.kam["s1"].ok("agreement", "list", "Acme")
        self.assertEqual(r.out.splitlines()[0].split(), ["ID", "SIGNED_ON", "SIGNED_BY", "TERM", "SCOPE"])

    # ---- the information layer ----

    def test_information_validation(self):
        self.assertOneError(self.as_("j1", "account", "set", "Acme", "revenue=100000"), 6, "currency")
        self.assertOneError(self.as_("j1", "account", "set", "Acme", "headcount=-5"), 6, "headcount")
        self.assertOneError(self.as_("j1", "account", "set", "Acme", "founded=999"), 6, "founded")
        self.assertOneError(self.as_("j1", "account", "set", "Acme", "founded=2199"), 6, "founded", "to 20")
        self.assertOneError(self.as_("j1", "account", "set", "Acme", "revenue=10.5", "currency=EUR"), 6, "revenue")
        self.kam["j1"].ok("account", "set", "Acme", "revenue=100000", "budget=5000", "currency=EUR")
        # Clearing the currency under an amount is refused too; tier/stage/strategy are account set's.
        self.assertOneError(self.as_("j1", "account", "set", "Acme", "currency="), 6, "currency")
        self.assertOneError(self.as_("j1", "account", "set", "Acme", "strategy=attack"), 4)
        self.kam["s1"].ok("account", "set", "Acme", "strategy=attack", "stage=consolidation")
        self.assertOneError(self.as_("s1", "account", "set", "Acme", "tier=important"), 4)
        self.assertOneError(self.as_("m1", "account", "set", "Acme", "tier=strategic"), 4)
        self.assertOneError(self.as_("m1", "account", "set", "Acme", "stage=won"), 6, "stage")

    # ---- account show: one key per layer ----

    def test_account_show_has_every_layer(self):
        doc = self.kam["m1"].json("account", "show", "Acme")
        for key in ("information", "barriers", "projects", "contacts", "values", "agreements"):
            self.assertIn(key, doc)
        self.assertIsInstance(doc["barriers"], list)
        r = self.kam["m1"].ok("account", "show", "Acme")
        for section in ("Information", "Barriers", "Projects", "Contacts", "Value propositions",
                        "Strategic agreements"):
            self.assertRegex(r.out, rf"(?m)^{section}")
        self.assertOneError(self.as_("m2", "account", "show", "Acme", json=True), 5, json=True)
        rows = self.audit_rows("username = 'm1' AND action = 'account.show'")
        self.assertTrue(rows and rows[-1][1] == "allowed")

    # ---- every layer survives a restart ----

    def test_zz_survives_restart(self):
        self.ok_id("j1", "barrier", "add", "Acme", "--kind", "clearance", "staff need clearance")
        self.ok_id("m1", "value", "add", "Acme", "--level", "strategic", "joint development")
        before = self.kam["m1"].json("account", "show", "Acme")
        self.kamd.restart()
        after = self.kam["m1"].json("account", "show", "Acme")
        for key in ("information", "barriers", "projects", "contacts", "values", "agreements"):
            self.assertEqual(after[key], before[key], key)
        self.assertTrue(all(after[k] for k in ("barriers", "projects", "contacts", "values", "agreements")),
                        "every layer has something to lose")


class LayerCli(TestCase):
    """Usage errors of the layer commands are caught before any network traffic (a dead port: exit 7 otherwise)."""

    def test_usage_errors_exit_2(self):
        kam = Kam(kamtest.ENV, server=f"127.0.0.1:{kamtest.free_port()}", ca=None)
        for args in (["barrier", "add", "Acme", "text"],                       # --kind is required
                     ["barrier", "add", "Acme", "--kind", "wall", "text"],
                     ["barrier", "add", "Acme", "--kind", "other"],              # TEXT missing
                     ["barrier", "set", "12"], ["barrier", "set", "twelve", "status=open"],
                     ["barrier", "set", "12", "status"], ["barrier", "clear", "0"],
                     ["project", "add", "Acme"], ["project", "add", "Acme", "X", "--stage", "won"],
                     ["project", "advance", "7"], ["project", "advance", "7", "finished"],
                     ["project", "close", "7", "won"], ["project", "close", "7", "tied", "--reason", "x"],
                     ["project", "show", "-3"],
                     ["contact", "add", "Acme", "Jane", "--title", "CTO"],        # --decision-role missing
                     ["contact", "add", "Acme", "Jane", "--title", "T", "--decision-role", "R", "--stance", "maybe"],
                     ["value", "add", "Acme", "text"], ["value", "add", "Acme", "--level", "cosmic", "text"],
                     ["agreement", "add", "Acme", "--signed-by", "x", "--scope", "y"],
                     ["review"], ["review", "A", "B"], ["review", "--team", "a", "b"], ["review", "A", "--reverse"],
                     ["review", "--team", "--sort", "height"]):
            with self.subTest(args=" ".join(args)):
                self.assertOneError(kam.run(*args), 2)


if __name__ == "__main__":
    kamtest.main()
