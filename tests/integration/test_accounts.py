"""Users and accounts through the real kam: who sees and may change what
(domain.md's rules), validation, optimistic concurrency, output shapes,
persistence across a restart, and the audit trail behind it all.

The organisation used throughout:
    gm (GM)
    m1 (manager) <- j1 (junior)          m2 (manager) <- s2 (solution)
    Acme     important  owner j1         Globex   important  owner s2
    Umbrella ordinary   owner j1         Initech  top        owner m1
"""

import json

import kamtest
from kamtest import GM, PASSWORD, Kam, Kamd, RawClient, TestCase, pb, setUpModule, tearDownModule  # noqa: F401

USERS = [  # (name, role, reports_to)
    ("m1", "manager", None),
    ("m2", "manager", None),
    ("j1", "junior", "m1"),
    ("s2", "solution", "m2"),
]
ACCOUNTS = [  # (name, tier, owner)
    ("Acme", "important", "j1"),
    ("Umbrella", "ordinary", "j1"),
    ("Globex", "important", "s2"),
    ("Initech", "top", "m1"),
]


def walk(doc, path="$"):
    """Yield (path, value) for every value in a JSON document."""
    yield path, doc
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from walk(v, f"{path}.{k}")
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from walk(v, f"{path}[{i}]")


class Accounts(TestCase):

    @classmethod
    def setUpClass(cls):
        env = kamtest.ENV
        cls.kamd = Kamd(env).ensure_gm().start()
        cls.kam = {GM: Kam(env, cls.kamd)}
        cls.kam[GM].login(GM)
        for name, role, boss in USERS:
            args = ["user", "add", name, "--role", role, "--password-stdin"]
            if boss:
                args += ["--reports-to", boss]
            cls.kam[GM].ok(*args, stdin=PASSWORD + "\n")
            cls.kam[name] = Kam(env, cls.kamd)
            cls.kam[name].login(name)
        cls.ids = {}
        for name, tier, owner in ACCOUNTS:
            cls.kam[GM].ok("account", "add", name, "--tier", tier, "--owner", owner)
            cls.ids[name] = cls.kam[GM].json("account", "show", name)["id"]

    # ---- helpers ----

    def as_(self, user, *args, **kw):
        return self.kam[user].run(*args, **kw)

    def show(self, user, account):
        return self.kam[user].json("account", "show", account)

    def listed(self, user, *filters):
        return {a["name"] for a in self.kam[user].json("account", "list", *filters)}

    def add_account(self, name, tier="important", owner=None):
        args = ["account", "add", name, "--tier", tier] + (["--owner", owner] if owner else [])
        self.kam[GM].ok(*args)
        return self.show(GM, name)

    # ---- global flags after the command ----

    def test_json_flag_after_the_command(self):
        before = self.kam[GM].json("account", "show", "Acme")
        r = self.as_(GM, "account", "show", "Acme", "--json")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(json.loads(r.out), before)
        # After "--" it is an argument again: no account has that name.
        r = self.as_(GM, "account", "show", "--", "--json")
        self.assertEqual(r.rc, 5, r)

    # ---- users ----

    def test_user_list_as_gm(self):
        r = self.kam[GM].ok("user", "list")
        header = r.out.splitlines()[0].split()
        self.assertEqual(header, ["USERNAME", "ROLE", "REPORTS_TO", "ACTIVE", "CREATED"], f"{r}")
        for name, _, _ in USERS:
            self.assertRegex(r.out, rf"(?m)^{name}\s")
        users = {u["username"]: u for u in self.kam[GM].json("user", "list")}
        self.assertEqual(users["j1"]["role"], "junior")
        self.assertEqual(users["j1"]["reports_to"], "m1")
        self.assertIs(users["j1"]["active"], True)
        self.assertIsInstance(users["j1"]["id"], int)
        self.assertEqual(users[GM]["role"], "gm")
        self.assertNotIn("password", json.dumps(users))

    def test_user_list_roles(self):
        self.assertOneError(self.as_("j1", "user", "list"), 4)
        self.assertOneError(self.as_("s2", "user", "list"), 4)
        self.assertSuccess(self.as_("m1", "user", "list"))

    def test_user_add_rules(self):
        pw = PASSWORD + "\n"
        self.assertOneError(self.as_("m1", "user", "add", "x1", "--role", "junior", "--password-stdin", stdin=pw), 4)
        self.assertOneError(self.as_(GM, "user", "add", "m1", "--role", "junior", "--password-stdin", stdin=pw),
                            6, "m1")
        self.assertOneError(self.as_(GM, "user", "add", "x2", "--role", "junior", "--reports-to", "j1",
                                     "--password-stdin", stdin=pw), 6, "j1")
        self.assertOneError(self.as_(GM, "user", "add", "x3", "--role", "junior", "--reports-to", "ghost",
                                     "--password-stdin", stdin=pw), 6, "ghost")
        self.assertOneError(self.as_(GM, "user", "add", "x4", "--role", "junior", "--password-stdin",
                                     stdin="short\n"), 6, "password")
        self.assertOneError(self.as_(GM, "user", "add", "bad name!", "--role", "junior", "--password-stdin",
                                     stdin=pw), 6)

    # ---- output shapes ----

    def test_list_table(self):
        r = self.kam[GM].ok("account", "list")
        lines = r.out.splitlines()
        self.assertEqual(lines[0].split(), ["ID", "NAME", "TIER", "STAGE", "STRATEGY", "OWNER", "TEAM"], f"{r}")
        self.assertTrue(any(line.split()[:3] == [str(self.ids["Acme"]), "Acme", "important"] for line in lines),
                        f"{r}")

    def test_show_json_shape(self):
        doc = self.add_account("Blank Corp", "important", "m2")
        for key, kind in (("id", int), ("name", str), ("tier", str), ("stage", str), ("owner", str),
                          ("team", list), ("version", int), ("created_at", str), ("updated_at", str),
                          ("information", dict)):
            self.assertIsInstance(doc.get(key), kind, f"{key} in {doc}")
        self.assertEqual((doc["name"], doc["tier"], doc["stage"], doc["owner"]),
                         ("Blank Corp", "important", "breakthrough", "m2"))
        self.assertEqual(doc["team"], ["m2"])
        self.assertRegex(doc["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
        # Unknown is absent: never null, never an empty string.
        self.assertEqual(doc["information"], {}, f"a new account knows nothing yet: {doc}")
        for path, v in walk(doc):
            self.assertNotIn(v, (None, ""), f"{path} is {v!r}; unknown fields must be absent")

        self.kam[GM].ok("account", "set", "Blank Corp", "founded=1998", "headcount=250", "business=Widgets",
                        "revenue=1000000", "budget=50000", "currency=EUR", "suppliers=Initech",
                        "notes=Met the CFO at the fair")
        info = self.show(GM, "Blank Corp")["information"]
        self.assertEqual(info, {
            "founded": 1998, "headcount": 250, "business": "Widgets",
            "revenue": {"amount_minor": 1000000, "currency": "EUR"},
            "budget": {"amount_minor": 50000, "currency": "EUR"},
            "suppliers": "Initech", "notes": "Met the CFO at the fair"})

        r = self.kam[GM].ok("account", "show", "Blank Corp")
        self.assertIn(f"Account {doc['id']}: Blank Corp", r.out)
        self.assertIn("Information", r.out)
        self.assertRegex(r.out, r"Founded:\s+1998")

        # An empty value clears an optional field: it becomes absent again.
        self.kam[GM].ok("account", "set", "Blank Corp", "headcount=", "notes=")
        info = self.show(GM, "Blank Corp")["information"]
        self.assertNotIn("headcount", info)
        self.assertNotIn("notes", info)
        self.assertEqual(info["founded"], 1998)

    def test_set_plan_fields(self):
        self.add_account("Planned", "important", "m1")
        self.kam[GM].ok("account", "set", "Planned", "stage=consolidation", "strategy=attack")
        doc = self.show("m1", "Planned")
        self.assertEqual((doc["stage"], doc["strategy"]), ("consolidation", "attack"))
        # A solution rep on the team may plan too; a junior may not (see test_junior_writes_information_only).
        self.kam[GM].ok("account", "assign", "Planned", "s2")
        self.kam["s2"].ok("account", "set", "Planned", "strategy=watch")
        self.assertEqual(self.show(GM, "Planned")["strategy"], "watch")

    def test_list_filters_and_json(self):
        names = self.listed(GM, "--owner", "j1")
        self.assertTrue({"Acme", "Umbrella"} <= names, names)
        self.assertFalse({"Globex", "Initech"} & names, names)
        self.assertIn("Umbrella", self.listed(GM, "--tier", "ordinary"))
        self.assertNotIn("Acme", self.listed(GM, "--tier", "ordinary"))
        self.assertIn("Acme", self.listed(GM, "--stage", "breakthrough"))
        rows = self.kam[GM].json("account", "list")
        acme = next(a for a in rows if a["name"] == "Acme")
        self.assertEqual((acme["id"], acme["owner"], acme["tier"]), (self.ids["Acme"], "j1", "important"))

    def test_list_paging(self):
        for i in range(5):
            self.add_account(f"Paged {i}", "ordinary", "m2")
        page = self.kam["m2"].json("account", "list", "--owner", "m2", "--tier", "ordinary", "--limit", "2")
        self.assertEqual(len(page), 2)
        after = str(page[-1]["id"])
        rest = self.kam["m2"].json("account", "list", "--owner", "m2", "--tier", "ordinary", "--after", after)
        self.assertTrue(all(a["id"] > page[-1]["id"] for a in rest))
        self.assertEqual(len(page) + len(rest), 5)

    # ---- visibility ----

    def test_junior_sees_own_team_only(self):
        self.assertEqual(self.show("j1", "Acme")["name"], "Acme")
        mine = self.listed("j1")
        self.assertTrue({"Acme", "Umbrella"} <= mine, mine)
        self.assertFalse({"Globex", "Initech"} & mine, mine)

    def test_invisible_looks_like_missing(self):
        for ref, missing in (("Globex", "No Such Corp"), (str(self.ids["Globex"]), "987654321")):
            with self.subTest(ref=ref):
                hidden = self.as_("j1", "account", "show", ref)
                absent = self.as_("j1", "account", "show", missing)
                self.assertOneError(hidden, 5)
                self.assertOneError(absent, 5)
                self.assertEqual(hidden.err.replace(ref, "X"), absent.err.replace(missing, "X"))
                jh = json.loads(self.as_("j1", "account", "show", ref, json=True).out)
                ja = json.loads(self.as_("j1", "account", "show", missing, json=True).out)
                self.assertEqual(jh["error"]["code"], "not_found")
                self.assertEqual(jh["error"]["message"].replace(ref, "X"), ja["error"]["message"].replace(missing, "X"))

    def test_manager_sees_reports_accounts(self):
        self.assertEqual(self.show("m1", "Acme")["owner"], "j1")
        m1 = self.listed("m1")
        self.assertTrue({"Acme", "Umbrella", "Initech"} <= m1, m1)
        self.assertNotIn("Globex", m1)
        m2 = self.listed("m2")
        self.assertIn("Globex", m2)
        self.assertNotIn("Acme", m2)
        self.assertOneError(self.as_("m2", "account", "show", "Acme"), 5)
        self.assertOneError(self.as_("s2", "account", "show", "Acme"), 5)
        self.assertEqual(self.show("s2", "Globex")["owner"], "s2")

    def test_manager_sees_transitively(self):
        # m1 <- m3 <- j4: m1 manages j4 through m3.
        pw = PASSWORD + "\n"
        self.kam[GM].ok("user", "add", "m3", "--role", "manager", "--reports-to", "m1", "--password-stdin", stdin=pw)
        self.kam[GM].ok("user", "add", "j4", "--role", "junior", "--reports-to", "m3", "--password-stdin", stdin=pw)
        self.add_account("Deep Corp", "ordinary", "j4")
        self.assertEqual(self.show("m1", "Deep Corp")["owner"], "j4")
        self.assertIn("Deep Corp", self.listed("m1"))
        self.assertNotIn("Deep Corp", self.listed("m2"))
        self.assertOneError(self.as_("j1", "account", "show", "Deep Corp"), 5)
        self.assertSuccess(self.as_("m1", "account", "set", "Deep Corp", "notes=via m3"))

    def test_list_follows_pages(self):
        # More accounts than one server page (100): kam fetches them all.
        with RawClient(self.kamd) as c:
            c.login()
            n = 130
            for i in range(n):
                c.send(c.request("account_add", name=f"Bulk {i:03d}", tier=pb.TIER_ORDINARY, owner="s2"))
            for _ in range(n):
                self.assertRespOk(c.recv_response())
        rows = self.kam["s2"].json("account", "list", "--owner", "s2", "--tier", "ordinary")
        names = [a["name"] for a in rows]
        self.assertEqual(sorted(x for x in names if x.startswith("Bulk ")), [f"Bulk {i:03d}" for i in range(n)])
        self.assertEqual(len(names), len(set(names)), "no account listed twice")
        ids = [a["id"] for a in rows]
        self.assertEqual(ids, sorted(ids), "ordered by id")
        table = self.kam["s2"].ok("account", "list", "--owner", "s2", "--tier", "ordinary")
        self.assertEqual(len(table.out.splitlines()) - 1, len(rows), "the table has every row too")

    def test_text_round_trips(self):
        name = "Société Générale 東京 \"quoted\""
        notes = "line one\nline two\ttabbed \\ backslash \u00e9 emoji \U0001F600"
        self.add_account(name, "important", "m1")
        self.kam[GM].ok("account", "set", name, f"notes={notes}", "business=x=y")
        doc = self.show("m1", name)
        self.assertEqual(doc["name"], name)
        self.assertEqual(doc["information"]["notes"], notes)
        self.assertEqual(doc["information"]["business"], "x=y", "only the first '=' splits FIELD=VALUE")
        self.assertIn(name, self.kam["m1"].ok("account", "show", name).out)
        self.assertEqual(self.show("m1", str(doc["id"]))["name"], name)

    def test_numeric_names_refused(self):
        # ACCOUNT is an id or an exact name: a name of digits only would be ambiguous.
        self.assertOneError(self.as_(GM, "account", "add", "2024", "--tier", "ordinary"), 6, "name")
        self.assertSuccess(self.as_(GM, "account", "add", "2024 Ltd", "--tier", "ordinary"))

    def test_gm_sees_all(self):
        self.assertTrue({"Acme", "Umbrella", "Globex", "Initech"} <= self.listed(GM))

    # ---- who may change what ----

    def test_junior_writes_information_only(self):
        self.kam["j1"].ok("account", "set", "Acme", "notes=Buyer prefers email", "headcount=1200")
        self.assertEqual(self.show("j1", "Acme")["information"]["notes"], "Buyer prefers email")
        self.assertOneError(self.as_("j1", "account", "set", "Acme", "tier=top"), 4)
        self.assertOneError(self.as_("j1", "account", "set", "Acme", "stage=occupation"), 4)
        # A mixed request is refused as a whole: nothing of it is applied.
        before = self.show(GM, "Acme")
        self.assertOneError(self.as_("j1", "account", "set", "Acme", "notes=changed", "tier=top"), 4)
        self.assertEqual(self.show(GM, "Acme")["version"], before["version"])
        self.assertOneError(self.as_("j1", "account", "set", "Globex", "notes=hello"), 5)
        self.assertOneError(self.as_("j1", "account", "set", "Globex", "tier=top"), 5)

    def test_if_version(self):
        self.add_account("Versioned", "important", "m1")
        v = self.show(GM, "Versioned")["version"]
        self.kam[GM].ok("account", "set", "Versioned", "notes=first", "--if-version", str(v))
        self.assertGreater(self.show(GM, "Versioned")["version"], v)
        r = self.as_(GM, "account", "set", "Versioned", "notes=second", "--if-version", str(v))
        self.assertOneError(r, 6, "Versioned")
        self.assertEqual(self.show(GM, "Versioned")["information"]["notes"], "first")
        r = self.as_(GM, "account", "set", "Versioned", "notes=second", "--if-version", str(v), json=True)
        self.assertOneError(r, 6, json=True)
        self.assertEqual(json.loads(r.out)["error"]["code"], "conflict")

    def test_bad_values_name_the_field(self):
        for kv, field in (("headcount=-1", "headcount"), ("founded=abc", "founded"),
                          ("founded=3000", "founded"), ("currency=euro", "currency"),
                          ("revenue=12.5", "revenue"), ("tier=platinum", "tier"),
                          ("stage=done", "stage"), ("strategy=hope", "strategy"),
                          ("colour=blue", "colour"), ("notes=" + "x" * 9000, "notes")):
            with self.subTest(kv=kv[:40]):
                r = self.as_(GM, "account", "set", "Acme", kv)
                self.assertOneError(r, 6, field)
        r = self.as_(GM, "account", "set", "Acme", "notes=a", "notes=b")
        self.assertOneError(r, 6, "notes")

    def test_duplicate_account(self):
        self.assertOneError(self.as_(GM, "account", "add", "Acme", "--tier", "ordinary"), 6, "Acme")

    def test_owner_seniority(self):
        self.assertOneError(self.as_(GM, "account", "add", "Strat J", "--tier", "strategic", "--owner", "j1"), 6)
        self.assertOneError(self.as_(GM, "account", "add", "Strat S", "--tier", "strategic", "--owner", "s2"), 6)
        self.assertOneError(self.as_(GM, "account", "add", "Top J", "--tier", "top", "--owner", "j1"), 6)
        self.assertSuccess(self.as_(GM, "account", "add", "Top S", "--tier", "top", "--owner", "s2"))
        # Raising an account's tier keeps the owner rule too.
        self.assertOneError(self.as_(GM, "account", "set", "Umbrella", "tier=top"), 6)

    def test_promote_to_strategic(self):
        self.add_account("Hooli", "top", "m1")
        self.assertOneError(self.as_("m1", "account", "set", "Hooli", "tier=strategic"), 4)
        self.assertOneError(self.as_("m1", "account", "add", "Strat M", "--tier", "strategic"), 4)
        self.assertSuccess(self.as_("m1", "account", "set", "Hooli", "tier=important"))
        self.assertSuccess(self.as_(GM, "account", "set", "Hooli", "tier=strategic"))
        self.assertEqual(self.show("m1", "Hooli")["tier"], "strategic")
        self.assertSuccess(self.as_(GM, "account", "add", "Strat G", "--tier", "strategic", "--owner", "m2"))

    def test_create_for_others(self):
        self.assertSuccess(self.as_("j1", "account", "add", "J1 Own", "--tier", "ordinary"))
        self.assertEqual(self.show("j1", "J1 Own")["owner"], "j1")
        self.assertOneError(self.as_("j1", "account", "add", "J1 For M1", "--tier", "ordinary", "--owner", "m1"), 4)
        self.assertSuccess(self.as_("m1", "account", "add", "M1 For J1", "--tier", "ordinary", "--owner", "j1"))

    def test_assign_unassign(self):
        self.add_account("Teamwork", "ordinary", "j1")
        # A junior may not staff accounts; an invisible account stays invisible.
        self.assertOneError(self.as_("j1", "account", "assign", "Teamwork", "s2"), 4)
        self.assertOneError(self.as_("m2", "account", "assign", "Teamwork", "s2"), 5)
        self.assertOneError(self.as_("s2", "account", "show", "Teamwork"), 5)
        self.kam["m1"].ok("account", "assign", "Teamwork", "s2")
        doc = self.show(GM, "Teamwork")
        self.assertEqual(sorted(doc["team"]), ["j1", "s2"])
        self.assertEqual(doc["team"][0], "j1", "the owner is listed first")
        # Now s2 is on the team, and m2 sees it through s2.
        self.assertEqual(self.show("s2", "Teamwork")["name"], "Teamwork")
        self.assertIn("Teamwork", self.listed("m2"))
        self.assertOneError(self.as_("m1", "account", "assign", "Teamwork", "s2"), 6)
        self.assertOneError(self.as_("m1", "account", "assign", "Teamwork", "ghost"), (5, 6), "ghost")
        # The owner cannot be removed; a member can.
        self.assertOneError(self.as_("m1", "account", "unassign", "Teamwork", "j1"), 6, "owner")
        self.kam["m1"].ok("account", "unassign", "Teamwork", "s2")
        self.assertEqual(self.show(GM, "Teamwork")["team"], ["j1"])
        self.assertOneError(self.as_("s2", "account", "show", "Teamwork"), 5)
        self.assertOneError(self.as_("m1", "account", "unassign", "Teamwork", "s2"), 6)

    # ---- durability and audit ----

    def test_survives_restart(self):
        self.kam[GM].ok("account", "set", "Initech", "suppliers=Wayne Enterprises")
        self.kamd.restart()
        # Both the data and the sessions live in PostgreSQL.
        self.assertEqual(self.show("m1", "Initech")["information"]["suppliers"], "Wayne Enterprises")
        self.assertEqual(self.show("j1", "Acme")["name"], "Acme")

    def test_audit_rows(self):
        env = kamtest.ENV
        self.show("j1", "Umbrella")
        self.assertOneError(self.as_("j1", "account", "show", "Globex"), 5)
        self.assertOneError(self.as_("j1", "account", "set", "Umbrella", "tier=important"), 4)
        rows = env.psql("SELECT action, result, account_id FROM audit_log WHERE username = 'j1' ORDER BY id")
        self.assertIn(["account.show", "allowed", str(self.ids["Umbrella"])], rows)
        self.assertIn(["account.show", "denied", str(self.ids["Globex"])], rows)
        self.assertIn(["account.set", "denied", str(self.ids["Umbrella"])], rows)
        # Every row names its client and the user's role.
        self.assertEqual(env.psql("SELECT count(*) FROM audit_log WHERE username = 'j1' "
                                  "AND (client_addr NOT LIKE '127.0.0.1:%' OR role <> 1)"), [["0"]])
        # A change records before and after.
        self.kam[GM].ok("account", "set", "Umbrella", "headcount=77")
        detail = env.psql("SELECT detail FROM audit_log WHERE action = 'account.set' AND result = 'allowed' "
                          f"AND account_id = {self.ids['Umbrella']} ORDER BY id DESC LIMIT 1")[0][0]
        self.assertEqual(json.loads(detail)["changes"]["headcount"]["after"] in (77, "77"), True, detail)
        # The serving role cannot rewrite history.
        with self.assertRaises(RuntimeError):
            env.psql("SET ROLE kam_app; DELETE FROM audit_log")
        with self.assertRaises(RuntimeError):
            env.psql("SET ROLE kam_app; UPDATE audit_log SET result = 'allowed'")


if __name__ == "__main__":
    kamtest.main()
