"""The audit fails closed (issue 7): when PostgreSQL refuses audit rows (here a
trigger a superuser installs), every account read and write is refused,
nothing is changed without its audit entry, and kamd logs why. Once the
trigger is gone, service resumes by itself."""

import kamtest
from kamtest import Kam, Kamd, TestCase, setUpModule, tearDownModule  # noqa: F401

REFUSAL = "audit inserts refused by the test"


def psql(sql):
    return kamtest.ENV.psql(sql)


class AuditRefusal(TestCase):

    @classmethod
    def setUpClass(cls):
        env = kamtest.ENV
        cls.kamd = Kamd(env).ensure_gm().start()
        cls.gm = kamtest.gm_kam(cls.kamd)
        kamtest.add_users(cls.gm, "rep solution")
        cls.gm.ok("account", "add", "Acme", "--tier", "top", "--owner", "rep")
        cls.rep = Kam(env, cls.kamd)
        cls.rep.login("rep")

    def refuse(self, on):
        if on:
            psql("CREATE FUNCTION t_refuse() RETURNS trigger LANGUAGE plpgsql AS "
                 f"$$ BEGIN RAISE EXCEPTION '{REFUSAL}'; END $$; "
                 "CREATE TRIGGER t_refuse BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION t_refuse()")
        else:
            psql("DROP TRIGGER IF EXISTS t_refuse ON audit_log; DROP FUNCTION IF EXISTS t_refuse()")

    def test_every_account_request_is_refused_and_logged(self):
        acme = psql("SELECT id, version FROM accounts WHERE name = 'Acme'")[0]
        audit_before = psql("SELECT count(*) FROM audit_log")
        off = self.kamd.log_size()
        self.refuse(True)
        try:
            requests = [
                ("account", "show", "Acme"),
                ("account", "list"),
                ("account", "show", acme[0]),
                ("account", "set", "Acme", "notes=unaudited"),
                ("account", "add", "Unaudited", "--tier", "ordinary"),
                ("barrier", "add", "Acme", "--kind", "other", "unaudited"),
                ("barrier", "list", "Acme"),
                ("review", "Acme"),
            ]
            for who in (self.rep, self.gm):
                for args in requests:
                    r = who.run(*args)
                    self.assertOneError(r, 7)
                    self.assertEqual(r.out.strip() if not r.out.startswith("{") else "", "", args)
            # Nothing changed, nothing was written.
            self.assertEqual(psql("SELECT id, version FROM accounts WHERE name = 'Acme'")[0], acme)
            self.assertEqual(psql("SELECT count(*) FROM accounts WHERE name = 'Unaudited'"), [["0"]])
            self.assertEqual(psql("SELECT count(*) FROM barriers"), [["0"]])
            self.assertEqual(psql("SELECT count(*) FROM audit_log"), audit_before)
            # kamd says why.
            self.assertIn(REFUSAL, self.kamd.read_log(off))
        finally:
            self.refuse(False)
        # And serves again as soon as the audit takes rows.
        self.assertSuccess(self.rep.run("account", "show", "Acme"))
        self.assertSuccess(self.rep.run("account", "set", "Acme", "notes=audited again"))
        self.assertSuccess(self.gm.run("audit", "verify"))


if __name__ == "__main__":
    kamtest.main()
