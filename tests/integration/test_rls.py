"""Row-level security (issue 7): PostgreSQL itself keeps each account's rows
from users who may not read them, behind the daemon's authorization. The
serving role is not the tables' owner, cannot bypass row security, the tables
FORCE it, and kamd sets the acting user per transaction. Here psql connects as
the serving role, acts as each user in turn and must see exactly what the
rules in docs/authorization.md show that user, and change nothing else."""

import subprocess

import kamtest
from kamtest import GM, Kam, Kamd, TestCase, setUpModule, tearDownModule  # noqa: F401

TABLES = ("accounts", "account_team", "barriers", "projects", "project_moves", "contacts",
          "contact_projects", "value_props", "agreements")


def serving(sql, as_user=None, check=True):
    """Run sql as the serving role kam_app in one transaction, acting as as_user's id
    (None: no acting user). Returns (rc, rows, stderr)."""
    env = kamtest.ENV
    pre = ""
    if as_user is not None:
        uid = env.psql(f"SELECT id FROM users WHERE username = '{as_user}'")[0][0]
        pre = f"SET LOCAL kam.user_id = '{uid}';"
    cmd = [kamtest.psql_bin(), "-X", "-q", "-A", "-t", "-F", "|", "-v", "ON_ERROR_STOP=1",
           "-h", env.pghost, "-p", env.pgport, "-U", "kam_app", "-d", env.dbname,
           "-c", f"BEGIN; {pre} {sql}; COMMIT;"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=kamtest.CMD_TIMEOUT)
    if check and r.returncode != 0:
        raise AssertionError(f"psql as kam_app failed: {sql}\n{r.stderr}")
    rows = [line.split("|") for line in r.stdout.splitlines() if line]
    return r.returncode, rows, r.stderr


def names(as_user):
    _, rows, _ = serving("SELECT name FROM accounts ORDER BY name", as_user)
    return [r[0] for r in rows]


class RowSecurity(TestCase):

    @classmethod
    def setUpClass(cls):
        env = kamtest.ENV
        cls.kamd = Kamd(env).ensure_gm().start()
        gm = kamtest.gm_kam(cls.kamd)
        kamtest.add_users(gm, "boss manager", "mid manager boss", "rep1 solution mid", "rep2 junior",
                          "other manager")
        gm.ok("account", "add", "Alpha", "--tier", "top", "--owner", "rep1")
        gm.ok("account", "add", "Beta", "--tier", "important", "--owner", "rep2")
        gm.ok("account", "add", "Gamma", "--tier", "ordinary", "--owner", "other")
        gm.ok("account", "assign", "Gamma", "rep2")
        for acc in ("Alpha", "Beta", "Gamma"):
            gm.ok("barrier", "add", acc, "--kind", "other", f"barrier of {acc}")
            gm.ok("project", "add", acc, f"project of {acc}")
            gm.ok("contact", "add", acc, f"contact of {acc}", "--title", "CTO", "--decision-role", "decision maker")
            gm.ok("value", "add", acc, "--level", "business", f"value of {acc}")
        cls.gm = gm

    def id_of(self, name):
        return kamtest.ENV.psql(f"SELECT id FROM accounts WHERE name = '{name}'")[0][0]

    def test_the_serving_role_cannot_step_around_it(self):
        env = kamtest.ENV
        role = env.psql("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = 'kam_app'")
        self.assertEqual(role, [["f", "f"]])
        for t in TABLES:
            row = env.psql("SELECT pg_get_userbyid(relowner), relrowsecurity, relforcerowsecurity "
                           f"FROM pg_class WHERE oid = '{t}'::regclass")
            self.assertEqual(row, [["kam_admin", "t", "t"]], t)
        # The serving role cannot switch it off or take the tables over.
        for sql in ("ALTER TABLE accounts DISABLE ROW LEVEL SECURITY", "SET row_security = off; SELECT * FROM accounts",
                    "DROP POLICY kam_visible ON accounts"):
            rc, _, _ = serving(sql, "rep1", check=False)
            self.assertNotEqual(rc, 0, sql)

    def test_no_acting_user_sees_nothing(self):
        for t in TABLES:
            _, rows, _ = serving(f"SELECT count(*) FROM {t}")
            self.assertEqual(rows, [["0"]], t)
        # ...while the rows are there.
        self.assertEqual(kamtest.ENV.psql("SELECT count(*) FROM accounts"), [["3"]])

    def test_each_user_sees_what_the_rules_show(self):
        self.assertEqual(names("rep1"), ["Alpha"])               # owner
        self.assertEqual(names("rep2"), ["Beta", "Gamma"])       # owner, member
        self.assertEqual(names("mid"), ["Alpha"])                # manages rep1
        self.assertEqual(names("boss"), ["Alpha"])               # through mid
        self.assertEqual(names("other"), ["Gamma"])
        self.assertEqual(names(GM), ["Alpha", "Beta", "Gamma"])

    def test_every_layer_follows_its_account(self):
        alpha = self.id_of("Alpha")
        for t in ("barriers", "projects", "contacts", "value_props", "account_team"):
            _, rows, _ = serving(f"SELECT DISTINCT account_id FROM {t}", "rep1")
            self.assertEqual(rows, [[alpha]], t)
            _, rows, _ = serving(f"SELECT count(DISTINCT account_id) FROM {t}", GM)
            self.assertEqual(rows, [["3"]], t)
        _, rows, _ = serving("SELECT count(*) FROM project_moves m JOIN projects p ON p.id = m.project_id "
                             f"WHERE p.account_id <> {alpha}", "rep1")
        self.assertEqual(rows, [["0"]])
        _, rows, _ = serving("SELECT count(*) FROM project_moves", "rep1")
        _, all_rows, _ = serving("SELECT count(*) FROM project_moves", GM)
        self.assertGreater(int(rows[0][0]), 0)
        self.assertLess(int(rows[0][0]), int(all_rows[0][0]))

    def test_nothing_outside_can_be_changed(self):
        beta = self.id_of("Beta")
        _, rows, _ = serving(f"UPDATE accounts SET notes = 'pwned' WHERE id = {beta} RETURNING id", "rep1")
        self.assertEqual(rows, [])
        _, rows, _ = serving(f"DELETE FROM account_team WHERE account_id = {beta} RETURNING user_id", "rep1")
        self.assertEqual(rows, [])
        rc, _, err = serving(f"INSERT INTO barriers (account_id, kind, description) VALUES ({beta}, 9, 'x')",
                             "rep1", check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("row-level security", err)
        rc, _, err = serving(f"INSERT INTO account_team (account_id, user_id) SELECT {beta}, id FROM users "
                             "WHERE username = 'rep1'", "rep1", check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("row-level security", err)
        self.assertEqual(kamtest.ENV.psql(f"SELECT notes = '' FROM accounts WHERE id = {beta}"), [["t"]])
        # Without an acting user, not even an account of one's own can be made.
        rc, _, err = serving("INSERT INTO accounts (name, tier, owner_id) SELECT 'Sneaky', 4, id FROM users "
                             "WHERE username = 'rep1'", check=False)
        self.assertNotEqual(rc, 0)
        self.assertIn("row-level security", err)

    def test_the_daemon_works_through_it(self):
        # Through kamd every rule still holds: it acts as the caller, so a rep reads and writes
        # their own account, a manager creates one for anyone, and nobody sees more.
        env = kamtest.ENV
        rep1 = Kam(env, self.kamd)
        rep1.login("rep1")
        self.assertSuccess(rep1.run("account", "show", "Alpha"))
        self.assertSuccess(rep1.run("account", "set", "Alpha", "notes=through rls"))
        self.assertOneError(rep1.run("account", "show", "Beta"), 5)
        out = rep1.ok("account", "list").out
        self.assertIn("Alpha", out)
        self.assertNotIn("Beta", out)
        other = Kam(env, self.kamd)
        other.login("other")
        self.assertSuccess(other.run("account", "add", "Delta", "--tier", "ordinary", "--owner", "rep2"))
        self.assertOneError(other.run("account", "show", "Delta"), 5)
        self.assertEqual(names("other"), ["Gamma"])
        self.assertEqual(names("rep2"), ["Beta", "Delta", "Gamma"])


if __name__ == "__main__":
    kamtest.main()
