"""The permission matrix of docs/authorization.md, cell by cell, against the real
kamd with the real kam. The operations table between the `operations matrix`
markers is the test's input: every row (operation x relation) and every role
in it is run, and the exit code must be the cell's (allow 0, forbidden 4, not
found 5), a refused command must change nothing in the database (and leave one
`denied` audit row), and an allowed one that writes must change it. The table
is also checked against the action matrix above it: each cell must be what its
actions give. An operation the document lists that this file cannot run, or
one it can run that the document does not list, fails the test.

Fixtures, one set per role R (junior, solution, manager, GM):
    u_R       a user of role R (the GM's is a second GM, g_gm)
    r_R       a junior reporting to u_R; a rep has no reports in normal use
              (only managers and the GM may be named as someone's manager), so
              for reps the line is set in the database, as a re-roled manager
              would leave it
    o         a manager with no reports who owns every account below not owned by u_R
    x, y      juniors: x is on every account's team (to be unassigned), y is assigned
and one important account per role and relation:
    owner            owned by u_R
    member           u_R on the team
    manages member   r_R on the team
    none             neither
each with two barriers, three projects, a contact (weight, stance and personal
needs set; deciding project 1), a value proposition and an agreement, so that
every command has its own object and the cells do not depend on each other.
For `review --team` the relation is to a user's team: owner (no USER),
manages member (USER r_R), none (USER o).
"""

import json
import os
import re
import subprocess

import kamtest
from kamtest import GM, PASSWORD, Kam, Kamd, RawClient, TestCase, pb, psql_bin, setUpModule, tearDownModule  # noqa: F401

DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "authorization.md")
ROLES = ["junior", "solution", "manager", "GM"]
RELATIONS = ["none", "manages member", "member", "owner"]
EXIT = {"allow": 0, "forbidden": 4, "not found": 5}
SENSITIVE = ("weight", "stance", "personal_needs")

# The tables the snapshot covers: everything an act may change but the audit trail and sessions.
SNAPSHOT_TABLES = ("users", "accounts", "account_team", "barriers", "projects", "project_moves", "contacts",
                   "contact_projects", "value_props", "agreements")


def cells_of(line):
    return [c.strip().strip("`").strip() for c in line.strip().strip("|").split("|")]


def read_document():
    """(operations rows, action cells) from docs/authorization.md."""
    with open(DOC) as f:
        text = f.read()
    m = re.search(r"<!-- operations matrix: begin -->\n(.*?)<!-- operations matrix: end -->", text, re.S)
    if not m:
        raise AssertionError(f"{DOC}: no operations matrix between its markers")
    ops = []
    for line in m.group(1).splitlines():
        if not line.startswith("| `"):
            continue
        c = cells_of(line)
        if len(c) != 7:
            raise AssertionError(f"malformed operations row: {line}")
        actions = [a.strip().strip("`") for a in c[1].split(",")]
        ops.append({"op": c[0], "actions": actions, "relation": c[2], "cells": dict(zip(ROLES, c[3:]))})
    actions = {}
    for line in text[:m.start()].splitlines():
        c = cells_of(line)
        if line.startswith("| `") and len(c) == 6:
            actions[(c[0], c[1])] = dict(zip(ROLES, c[2:]))
    return ops, actions


def _id(f, key):
    return str(f.get(key))


# Every operation of the document: (fixture, account, role, relation, unique tag) -> kam arguments.
COMMANDS = {
    "whoami": lambda f, a, role, rel, tag: ["whoami"],
    "user add": lambda f, a, role, rel, tag: ["user", "add", f"new-{tag}", "--role", "junior", "--password-stdin"],
    "user list": lambda f, a, role, rel, tag: ["user", "list"],
    "account list": lambda f, a, role, rel, tag: ["account", "list"],
    "account add": lambda f, a, role, rel, tag: ["account", "add", f"New {tag}", "--tier", "important"],
    "account add --owner": lambda f, a, role, rel, tag: ["account", "add", f"For {tag}", "--tier", "important",
                                                         "--owner", "o"],
    "account add --tier strategic": lambda f, a, role, rel, tag: ["account", "add", f"Strategic {tag}", "--tier",
                                                                  "strategic"],
    "account show": lambda f, a, role, rel, tag: ["account", "show", a],
    "account set notes": lambda f, a, role, rel, tag: ["account", "set", a, f"notes=matrix {tag}"],
    "account set stage": lambda f, a, role, rel, tag: ["account", "set", a, "stage=consolidation"],
    "account set tier=top": lambda f, a, role, rel, tag: ["account", "set", a, "tier=top"],
    "account set tier=strategic": lambda f, a, role, rel, tag: ["account", "set", a, "tier=strategic"],
    "account assign": lambda f, a, role, rel, tag: ["account", "assign", a, "y"],
    "account unassign": lambda f, a, role, rel, tag: ["account", "unassign", a, "x"],
    "barrier add": lambda f, a, role, rel, tag: ["barrier", "add", a, "--kind", "other", "matrix barrier"],
    "barrier list": lambda f, a, role, rel, tag: ["barrier", "list", a],
    "barrier set": lambda f, a, role, rel, tag: ["barrier", "set", _id(f, "b1"), "status=working"],
    "barrier clear": lambda f, a, role, rel, tag: ["barrier", "clear", _id(f, "b2")],
    "project add": lambda f, a, role, rel, tag: ["project", "add", a, "matrix project"],
    "project list": lambda f, a, role, rel, tag: ["project", "list", a],
    "project show": lambda f, a, role, rel, tag: ["project", "show", _id(f, "p1")],
    "project advance": lambda f, a, role, rel, tag: ["project", "advance", _id(f, "p1"), "need"],
    "project close": lambda f, a, role, rel, tag: ["project", "close", _id(f, "p2"), "lost", "--reason", "matrix"],
    "project set": lambda f, a, role, rel, tag: ["project", "set", _id(f, "p3"), "name=renamed"],
    "contact add": lambda f, a, role, rel, tag: ["contact", "add", a, "Matrix Person", "--title", "CIO",
                                                 "--decision-role", "user"],
    "contact list": lambda f, a, role, rel, tag: ["contact", "list", a],
    "contact list: weight, stance, personal needs": lambda f, a, role, rel, tag: ["--json", "contact", "list", a],
    "contact set": lambda f, a, role, rel, tag: ["contact", "set", _id(f, "c1"), "title=CEO"],
    "value add": lambda f, a, role, rel, tag: ["value", "add", a, "--level", "relationship", "matrix value"],
    "value list": lambda f, a, role, rel, tag: ["value", "list", a],
    "agreement add": lambda f, a, role, rel, tag: ["agreement", "add", a, "--signed-by", "us", "--signed-on",
                                                   "2026-02-01", "--scope", "matrix"],
    "agreement list": lambda f, a, role, rel, tag: ["agreement", "list", a],
    "review ACCOUNT": lambda f, a, role, rel, tag: ["review", a],
    "review ACCOUNT: support balances": lambda f, a, role, rel, tag: ["--json", "review", a],
    "review --team": lambda f, a, role, rel, tag: ["review", "--team"] + {
        "owner": [], "manages member": [f"r_{role.lower()}"], "none": ["o"]}[rel],
    # -- audit and churn (issue 4): the reads of the trail, and the bulk export --
    "audit log": lambda f, a, role, rel, tag: ["audit", "log"],
    "audit verify": lambda f, a, role, rel, tag: ["audit", "verify"],
    "audit alerts": lambda f, a, role, rel, tag: ["audit", "alerts"],
    "export": lambda f, a, role, rel, tag: ["export", "--format", "csv"],
}
# Operations that change the database when allowed.
WRITES = {op for op in COMMANDS if re.search(r"\b(add|set|assign|unassign|clear|advance|close)\b", op)}


class Psql:
    """One psql session kept open: a snapshot per cell must not cost a process."""

    def __init__(self, env):
        self.p = subprocess.Popen([psql_bin(), "-X", "-q", "-A", "-t", "-h", env.pghost, "-p", env.pgport, "-U",
                                   env.pgsuper, "-d", env.dbname], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)

    def query(self, sql):
        self.p.stdin.write(sql.rstrip(";") + ";\n\\echo __END__\n")
        self.p.stdin.flush()
        out = []
        for line in self.p.stdout:
            if line.rstrip("\n") == "__END__":
                return out
            out.append(line.rstrip("\n"))
        raise AssertionError("psql went away")

    def close(self):
        self.p.stdin.close()
        self.p.wait(10)


class Matrix(TestCase):

    @classmethod
    def setUpClass(cls):
        env = kamtest.ENV
        cls.ops, cls.actions = read_document()
        cls.kamd = Kamd(env).ensure_gm().start()
        cls.raw = RawClient(cls.kamd)
        cls.raw.login(GM)
        cls.users = {"GM": "g_gm", "junior": "u_junior", "solution": "u_solution", "manager": "u_manager"}
        cls.make_user("o", "manager")
        cls.make_user("x", "junior")
        cls.make_user("y", "junior")
        cls.make_user("g_gm", "gm")
        for role in ("junior", "solution", "manager"):
            cls.make_user(cls.users[role], role)
        for role in ROLES:
            boss = cls.users[role] if role in ("manager", "GM") else None
            cls.make_user(f"r_{role.lower()}", "junior", boss)
            if not boss:
                env.psql(f"UPDATE users SET reports_to = (SELECT id FROM users WHERE username = '{cls.users[role]}') "
                         f"WHERE username = 'r_{role.lower()}'")
        cls.fixtures = {(role, rel): cls.make_account(role, rel) for role in ROLES for rel in RELATIONS}
        cls.kam = {}
        for role in ROLES:
            cls.kam[role] = Kam(env, cls.kamd)
            cls.kam[role].login(cls.users[role])
        cls.db = Psql(env)

    @classmethod
    def tearDownClass(cls):
        cls.db.close()
        cls.raw.close()
        print(f"\nmatrix: {getattr(cls, 'tested', 0)} cells run against kamd", flush=True)

    # ---- fixtures, through the wire protocol as the first GM ----

    @classmethod
    def call(cls, body, **fields):
        resp = cls.raw.call(body, **fields)
        if resp.HasField("error") and resp.error.code != pb.ERROR_CODE_OK:
            raise AssertionError(f"fixture {body} failed: {resp.error}")
        return resp

    @classmethod
    def make_user(cls, name, role, boss=None):
        cls.call("user_add", username=name, role=pb.Role.Value(f"ROLE_{role.upper()}"), password=PASSWORD,
                 reports_to=boss or "")

    @classmethod
    def add_row(cls, body, account, **kv):
        fields = [pb.FieldValue(name=k, value=v) for k, v in kv.items()]
        layers = getattr(cls.call(body, account=account, fields=fields), body).layers
        rows = {"barrier_add": layers.barriers, "project_add": layers.projects, "contact_add": layers.contacts,
                "value_add": layers.values, "agreement_add": layers.agreements}[body]
        return rows[0].id

    @classmethod
    def make_account(cls, role, rel):
        name = f"M {role} {rel}"
        owner = cls.users[role] if rel == "owner" else "o"
        cls.call("account_add", name=name, tier=pb.TIER_IMPORTANT, owner=owner)
        for member in {"member": [cls.users[role]], "manages member": [f"r_{role.lower()}"]}.get(rel, []) + ["x"]:
            cls.call("account_assign", account=name, username=member)
        f = {"account": name}
        f["b1"] = cls.add_row("barrier_add", name, kind="competitor", description="to set")
        f["b2"] = cls.add_row("barrier_add", name, kind="habit", description="to clear")
        for p in ("p1", "p2", "p3"):
            f[p] = cls.add_row("project_add", name, name=f"project {p}", stage="problem")
        f["c1"] = cls.add_row("contact_add", name, name="Jane Roe", title="CTO", decision_role="decision maker",
                              weight="70", stance="support", personal_needs="recognition", projects=str(f["p1"]))
        cls.add_row("value_add", name, level="business", text="less downtime")
        cls.add_row("agreement_add", name, signed_by="both CEOs", signed_on="2026-01-10", scope="all sites")
        return f

    # ---- one command per operation ----

    def command(self, op, role, rel, n):
        """The kam arguments of op for role on the relation's fixture (a leading --json is global)."""
        f = self.fixtures.get((role, rel), {})
        return COMMANDS[op](f, f.get("account"), role, rel, f"{role}-{n}")

    def field_row_visible(self, op, out):
        """For the two field rows: are the fields there?"""
        doc = json.loads(out)
        if op.startswith("contact list"):
            jane = next(c for c in doc if c["name"] == "Jane Roe")
            present = [k for k in SENSITIVE if k in jane]
            self.assertIn(present, ([], list(SENSITIVE)), f"all or none of the sensitive fields: {jane}")
            return bool(present)
        p1 = next(p for p in doc["account"]["projects"] if p["name"] == "project p1")
        return "support" in p1

    def snapshot(self):
        parts = " UNION ALL ".join(f"SELECT '{t}:' || t::text FROM {t} t" for t in SNAPSHOT_TABLES)
        rows = self.db.query(f"SELECT md5(string_agg(s, '|' ORDER BY s)), "
                             f"(SELECT count(*) FROM audit_log WHERE result = 'denied') FROM ({parts}) x(s)")
        digest, denied = rows[0].split("|")
        return digest, int(denied)

    # ---- the tests ----

    def test_document_is_consistent(self):
        """Each operation's cell is what its actions give, the first refusal winning."""
        for row in self.ops:
            for role in ROLES:
                want = "allow"
                for action in row["actions"]:
                    rel = row["relation"]
                    if (action, rel) not in self.actions:   # an account action on "any": the handler passes owner
                        rel = "owner" if (action, "owner") in self.actions else rel
                    cell = self.actions.get((action, rel), {}).get(role)
                    self.assertIsNotNone(cell, f"{row['op']}: no action row {action} / {rel}")
                    if cell != "allow":
                        want = cell
                        break
                self.assertEqual(row["cells"][role], want, f"{row['op']} / {row['relation']} / {role}")

    def test_every_cell(self):
        listed = {r["op"] for r in self.ops}
        self.assertEqual(sorted(listed - set(COMMANDS)), [], "operations in the document this test cannot run")
        self.assertEqual(sorted(set(COMMANDS) - listed), [], "operations this test runs that the document lacks")
        before = self.snapshot()
        failures = []
        n = 0
        for row in self.ops:
            for role in ROLES:
                n += 1
                want = row["cells"][role]
                # Commands on no single account run against the role's own fixture (it is not used).
                rel = "owner" if row["relation"] == "any" else row["relation"]
                argv = self.command(row["op"], role, rel, n)
                json_first = argv[0] == "--json"
                r = self.kam[role].run(*(argv[1:] if json_first else argv), json=json_first,
                                       stdin=PASSWORD + "\n" if row["op"] == "user add" else None)
                after = self.snapshot()
                try:
                    self.check_cell(f"{row['op']} / {row['relation']} / {role}", row["op"], want, r, before, after)
                except AssertionError as e:
                    failures.append(str(e))
                before = after
        type(self).tested = n
        self.assertEqual(n, 4 * len(self.ops))
        self.assertEqual(failures, [], f"{len(failures)} of {n} cells failed:\n" + "\n".join(failures[:40]))

    def check_cell(self, where, op, want, r, before, after):
        if ":" in op and want != "not found":
            # A field row: the command succeeds either way; the fields are there or not.
            self.assertEqual(r.rc, 0, f"{where}: {r}")
            self.assertEqual(self.field_row_visible(op, r.out), want == "allow", f"{where}: {r.out[:2000]}")
            self.assertEqual(after, before, f"{where}: a read changed the database or audited a denial")
            return
        self.assertEqual(r.rc, EXIT[want], f"{where}: {r}")
        if want != "allow":
            self.assertEqual(after[0], before[0], f"{where}: refused, but the database changed")
            self.assertEqual(after[1], before[1] + 1, f"{where}: the refusal was not audited exactly once")
            self.assertTrue(r.err.startswith("kam: error: "), f"{where}: {r}")
            return
        self.assertEqual(r.err, "", f"{where}: {r}")
        self.assertEqual(after[1], before[1], f"{where}: an allowed act audited a denial")
        if op in WRITES:
            self.assertNotEqual(after[0], before[0], f"{where}: allowed, but nothing changed")
        else:
            self.assertEqual(after[0], before[0], f"{where}: a read changed the database")

if __name__ == "__main__":
    kamtest.main()
