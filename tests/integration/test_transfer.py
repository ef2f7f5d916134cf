"""Export and import (issue 4): kam export (the GM; every account with every layer,
CSV or JSON, one audit entry with the count) and kam import FILE.csv (managers and
the GM; all or nothing; errors name the line and column; a progress line on a
terminal). And the client still keeps nothing about accounts on disk."""

import csv
import io
import json
import os

import kamtest
from kamtest import GM, PASSWORD, Kam, Kamd, TestCase, setUpModule, tearDownModule  # noqa: F401

STATE_FILES = {"sessions", "known_servers"}


def rows(sql):
    return kamtest.ENV.psql(sql)


def one(sql):
    r = rows(sql)
    return r[0][0] if r else None


class Transfer(TestCase):

    @classmethod
    def setUpClass(cls):
        env = kamtest.ENV
        cls.kamd = Kamd(env).ensure_gm().start()
        cls.gm = Kam(env, cls.kamd)
        cls.gm.login(GM)
        for user, role, boss in (("m1", "manager", None), ("s1", "solution", "m1"), ("j1", "junior", "m1"),
                                 ("gone", "junior", "m1")):
            args = ["user", "add", user, "--role", role, "--password-stdin"] + (["--reports-to", boss] if boss else [])
            cls.gm.ok(*args, stdin=PASSWORD + "\n")
        cls.gm.ok("user", "deactivate", "gone", "--handover-to", "j1")
        cls.gm.ok("account", "add", "Exp One", "--tier", "top", "--owner", "s1")
        cls.gm.ok("account", "set", "Exp One", "founded=1998", "currency=EUR", "revenue=250000000",
                  "notes=line one\nline two, with \"quotes\"")
        cls.gm.ok("account", "assign", "Exp One", "j1")
        cls.gm.ok("barrier", "add", "Exp One", "--kind", "certification", "ISO 27001 needed")
        cls.gm.ok("account", "add", "Exp Two", "--tier", "ordinary", "--owner", "j1")
        cls.m1 = Kam(env, cls.kamd)
        cls.m1.login("m1")

    def write(self, name, text):
        path = os.path.join(kamtest.ENV.tmp, name)
        with open(path, "w", newline="") as f:
            f.write(text)
        return path

    def accounts(self):
        return int(one("SELECT count(*) FROM accounts"))

    # ---- export ----

    def test_export_csv(self):
        r = self.gm.run("export")
        self.assertSuccess(r)
        table = list(csv.DictReader(io.StringIO(r.out, newline="")))
        self.assertEqual(len(table), self.accounts())
        one_ = next(t for t in table if t["name"] == "Exp One")
        self.assertEqual((one_["tier"], one_["owner"], one_["founded"], one_["currency"], one_["revenue"]),
                         ("top", "s1", "1998", "EUR", "250000000"))
        self.assertEqual(one_["notes"], "line one\nline two, with \"quotes\"")
        self.assertEqual(one_["team"].split(), ["s1", "j1"])
        barriers = json.loads(one_["layer:barriers"])
        self.assertEqual([b["description"] for b in barriers], ["ISO 27001 needed"])
        for layer in ("layer:projects", "layer:contacts"):
            self.assertIn(layer, one_)
        # One audit entry for the whole export, with the count.
        e = rows("SELECT username, detail->>'count' FROM audit_log WHERE action = 'export' ORDER BY id DESC LIMIT 1")
        self.assertEqual(e, [["gm", str(len(table))]])

    def test_export_json(self):
        doc = self.gm.json("export", "--format", "json")
        self.assertEqual(len(doc), self.accounts())
        a = next(d for d in doc if d["name"] == "Exp One")
        self.assertEqual(a["information"]["founded"], 1998)
        self.assertEqual(a["barriers"][0]["description"], "ISO 27001 needed")
        self.assertIn("projects", a)
        self.assertEqual(self.gm.json("export"), doc, "--json alone exports JSON too")

    def test_export_many_pages(self):
        before = int(one("SELECT count(*) FROM audit_log WHERE action = 'export'"))
        rows("INSERT INTO accounts (name, tier, owner_id, notes) SELECT 'Bulk ' || i, 4, "
             "(SELECT id FROM users WHERE username = 'gm'), repeat('x', 8000) FROM generate_series(1, 250) i")
        rows("INSERT INTO account_team (account_id, user_id) SELECT id, owner_id FROM accounts "
             "WHERE name LIKE 'Bulk %' ON CONFLICT DO NOTHING")
        r = self.gm.run("export")
        self.assertSuccess(r)
        names = [t["name"] for t in csv.DictReader(io.StringIO(r.out, newline=""))]
        self.assertEqual(len(names), self.accounts())
        self.assertEqual(len(set(names)), len(names))
        self.assertEqual(int(one("SELECT count(*) FROM audit_log WHERE action = 'export'")), before + 1,
                         "one entry however many pages")

    def test_export_is_the_gms(self):
        self.assertOneError(self.m1.run("export"), 4, "export")
        self.assertEqual(one("SELECT result FROM audit_log WHERE action = 'export' ORDER BY id DESC LIMIT 1"),
                         "denied")
        self.assertOneError(self.gm.run("export", "--format", "xml"), 2)

    # ---- import ----

    def test_import(self):
        before = self.accounts()
        path = self.write("good.csv", "\ufeffName,Tier,Owner,Founded,Headcount,Notes,Currency,Revenue,Stage\r\n"
                                      "Imp Alpha,top,s1,1999,120,\"comma, and \"\"quotes\"\"\",EUR,500,consolidation\r\n"
                                      "\r\n"
                                      "Imp Beta,ordinary,,,,\"two\nlines\",,,\r\n"
                                      "Imp Gamma,important,j1,,,,,,\r\n")
        r = self.m1.run("import", path)
        self.assertSuccess(r)
        self.assertRegex(r.out, r"^imported 3 accounts from .*good\.csv \(ids \d+ to \d+\)\n$")
        self.assertEqual(self.accounts(), before + 3)
        a = self.m1.json("account", "show", "Imp Alpha")
        self.assertEqual((a["owner"], a["stage"], a["information"]["founded"], a["information"]["headcount"]),
                         ("s1", "consolidation", 1999, 120))
        self.assertEqual(a["information"]["notes"], "comma, and \"quotes\"")
        self.assertEqual(self.m1.json("account", "show", "Imp Beta")["owner"], "m1")
        self.assertEqual(self.m1.json("account", "show", "Imp Beta")["information"]["notes"], "two\nlines")
        # One audit entry per account, naming its line.
        # Line numbers are the file's: Imp Beta's notes span two lines.
        e = rows("SELECT a.name, l.detail->>'line', l.detail->>'source' FROM audit_log l JOIN accounts a "
                 "ON a.id = l.account_id WHERE l.action = 'import' AND a.name LIKE 'Imp %' ORDER BY a.name")
        self.assertEqual(e, [["Imp Alpha", "2", "import"], ["Imp Beta", "4", "import"], ["Imp Gamma", "6", "import"]])

    def assertNothingImported(self, path, code, *mentions, who=None):
        before = self.accounts()
        r = (who or self.m1).run("import", path)
        line = self.assertOneError(r, code, *mentions)
        self.assertIn("nothing was imported", line)
        self.assertEqual(self.accounts(), before)
        return line

    def test_import_errors_name_line_and_column(self):
        head = "name,tier,owner,founded\n"
        ok = "Err OK,ordinary,,\n"
        self.assertNothingImported(self.write("e1.csv", head + ok + "Err B,huge,,\n"), 6,
                                   "line 3, column 2 (tier)", "'huge' is not a tier")
        self.assertNothingImported(self.write("e2.csv", head + ok + ok.replace("OK", "C") + "Err D,ordinary,,3000\n"),
                                   6, "line 4, column 4 (founded)", "1000 to 2200")
        self.assertNothingImported(self.write("e3.csv", head + ok + "Err E,ordinary,nobody,\n"), 6,
                                   "line 3, column 3 (owner)", "no user named nobody")
        self.assertNothingImported(self.write("e4.csv", head + ok + "Err F,ordinary,gone,\n"), 6,
                                   "line 3, column 3 (owner)", "deactivated")
        self.assertNothingImported(self.write("e5.csv", head + ok + "Err G,top,j1,\n"), 6,
                                   "line 3, column 3 (owner)", "TOP account")
        self.assertNothingImported(self.write("e6.csv", head + ok + "Exp Two,ordinary,,\n"), 6,
                                   "line 3, column 1 (name)", "already exists")
        self.assertNothingImported(self.write("e7.csv", head + ok + "Err H,ordinary\n"), 6, "line 3", "2 cells")
        self.assertNothingImported(self.write("e8.csv", "name,tier,colour\nErr I,ordinary,red\n"), 6,
                                   "line 1, column 3 (colour)")
        self.assertNothingImported(self.write("e9.csv", head + 'Err "J",ordinary,,\n'), 6, "line 2, column 1")
        self.assertNothingImported(self.write("e10.csv", head + ok + ok), 6, "line 3", "line 2 already")
        # Only the GM creates strategic accounts: a manager's whole file is refused (4).
        self.assertNothingImported(self.write("e11.csv", head + ok + "Err K,strategic,m1,\n"), 4,
                                   "line 3", "strategic")
        self.assertEqual(one("SELECT result FROM audit_log WHERE action = 'import' ORDER BY id DESC LIMIT 1"),
                         "denied")

    def test_import_is_for_managers(self):
        path = self.write("rep.csv", "name,tier\nRep Try,ordinary\n")
        j1 = Kam(kamtest.ENV, self.kamd)
        j1.login("j1")
        self.assertNothingImported(path, 4, "import", who=j1)
        self.assertOneError(self.m1.run("import", "/nonexistent.csv"), 2, "cannot read")

    def test_export_then_import_round_trip(self):
        out = self.gm.ok("export").out
        src = list(csv.DictReader(io.StringIO(out, newline="")))
        keep = [t for t in src if t["name"] in ("Exp One", "Exp Two")]
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(src[0].keys()), lineterminator="\r\n")
        w.writeheader()
        for t in keep:
            w.writerow({**t, "name": "Copy of " + t["name"]})
        r = self.gm.run("import", self.write("round.csv", buf.getvalue()))
        self.assertSuccess(r)
        copy = self.gm.json("account", "show", "Copy of Exp One")
        orig = self.gm.json("account", "show", "Exp One")
        self.assertEqual(copy["information"], orig["information"])
        self.assertEqual((copy["tier"], copy["owner"]), (orig["tier"], orig["owner"]))

    def test_progress_line_on_a_terminal(self):
        lines = "".join(f"Tty {i},ordinary\n" for i in range(120))
        path = self.write("tty.csv", "name,tier\n" + lines)
        kam = Kam(kamtest.ENV, self.kamd)
        kam.login("m1")
        r = kam.run_pty("import", path)
        self.assertEqual(r.rc, 0, r)
        self.assertIn("kam: reading", r.out)
        self.assertIn("kam: importing 120 accounts", r.out)
        self.assertIn("imported 120 accounts", r.out)
        # Off a terminal there is no progress line: stderr stays empty.
        path2 = self.write("notty.csv", "name,tier\nNo Tty,ordinary\n")
        self.assertSuccess(kam.run("import", path2))

    def test_nothing_about_accounts_on_disk(self):
        """A session of every command of this issue leaves only the token and the pin."""
        kam = Kam(kamtest.ENV, self.kamd)
        kam.login(GM)
        secret = "Zed Secret Industries"
        kam.ok("import", self.write("secret.csv", f"name,tier,notes\n{secret},ordinary,the-cfo-hates-us\n"))
        kam.ok("account", "show", secret)
        kam.ok("export")
        kam.ok("export", "--format", "json")
        kam.ok("audit", "log", "--account", secret)
        kam.ok("audit", "verify")
        kam.ok("audit", "alerts")
        kam.ok("user", "handover", "j1", "--to", "s1", "--account", "Exp Two")
        kam.ok("whoami", ca=None, globals_=["--trust-on-first-use"])
        files = kam.files()
        self.assertTrue(files)
        for rel in files:
            self.assertTrue(rel.startswith("xdg/kam/"), rel)
            self.assertIn(os.path.basename(rel), STATE_FILES, f"unexpected state file {rel}")
            with open(os.path.join(kam.root, rel), errors="replace") as f:
                text = f.read()
            for s in (secret, "Zed", "the-cfo-hates-us", "Exp Two", PASSWORD):
                self.assertNotIn(s, text, f"{rel} contains {s!r}")


if __name__ == "__main__":
    kamtest.main()
