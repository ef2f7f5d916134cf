"""The audit trail (issue 4): what every act writes, the append-only guarantee of
the database, the hash chain and its signed checkpoints against a superuser who
alters, deletes, reorders and truncates rows, and kam audit log / verify."""

import csv
import io
import json
import os
import re
import subprocess
import time

import kamtest
from kamtest import (GM, PASSWORD, Kam, Kamd, RawClient, TestCase, pb, psql_bin, setUpModule,  # noqa: F401
                     tearDownModule)


def psql_as(env, role, sql):
    """Run SQL as a non-superuser role; returns the completed process (not raising)."""
    cmd = [psql_bin(), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", env.pghost, "-p", env.pgport,
           "-U", role, "-d", env.dbname, "-c", sql]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def rows(sql):
    return kamtest.ENV.psql(sql)


class Trail(TestCase):
    """Users: gm; m1 (manager) with j1 (junior); m2 (manager) with s2 (solution).
    Accounts: Alpha (j1's), Beta (s2's), Gamma (m1's, strategic is the GM's... top here)."""

    @classmethod
    def setUpClass(cls):
        env = kamtest.ENV
        cls.cp = os.path.join(env.tmp, "audit.checkpoint")
        cls.kamd = Kamd(env, extra={"audit_checkpoint_file": cls.cp, "audit_checkpoint_interval": "1"})
        cls.kamd.ensure_gm().start()
        cls.gm = Kam(env, cls.kamd)
        cls.gm.login(GM)
        for user, role, boss in (("m1", "manager", None), ("j1", "junior", "m1"),
                                 ("m2", "manager", None), ("s2", "solution", "m2")):
            args = ["user", "add", user, "--role", role, "--password-stdin"] + (["--reports-to", boss] if boss else [])
            cls.gm.ok(*args, stdin=PASSWORD + "\n")
        cls.gm.ok("account", "add", "Alpha", "--tier", "important", "--owner", "j1")
        cls.gm.ok("account", "add", "Beta", "--tier", "top", "--owner", "s2")
        cls.gm.ok("account", "add", "Gamma", "--tier", "top", "--owner", "m1")
        cls.j1, cls.m1, cls.m2, cls.s2 = (cls.login(u) for u in ("j1", "m1", "m2", "s2"))

    @classmethod
    def login(cls, user):
        k = Kam(kamtest.ENV, cls.kamd)
        k.login(user)
        return k

    # ---- what every act writes ----

    def last(self, where):
        r = rows(f"SELECT username, role, action, coalesce(account_id, 0), result, client_addr, "
                 f"coalesce(detail::text, '') FROM audit_log WHERE {where} ORDER BY id DESC LIMIT 1")
        self.assertTrue(r, f"no audit row where {where}")
        return r[0]

    def test_read_records_layers(self):
        self.j1.ok("account", "show", "Alpha")
        user, role, action, acc, result, addr, detail = self.last("username = 'j1' AND action = 'account.show'")
        self.assertEqual((role, result), ("1", "allowed"))
        self.assertRegex(addr, r"^127\.0\.0\.1:\d+$")
        layers = json.loads(detail)["layers"]
        self.assertIn("information", layers)
        self.assertEqual(acc, rows("SELECT id FROM accounts WHERE name = 'Alpha'")[0][0])

    def test_write_records_before_and_after(self):
        self.j1.ok("account", "set", "Alpha", "headcount=120")
        self.j1.ok("account", "set", "Alpha", "headcount=130", "notes=renewal in May")
        detail = json.loads(self.last("username = 'j1' AND action = 'account.set'")[6])
        self.assertEqual(detail["changes"]["headcount"], {"before": 120, "after": 130})
        self.assertEqual(detail["changes"]["notes"]["after"], "renewal in May")

    def test_logins_denials_and_user_changes(self):
        k = Kam(kamtest.ENV, self.kamd)
        self.assertOneError(k.run("login", "j1", "--password-stdin", stdin="wrong password here\n"), 3)
        self.assertEqual(self.last("action = 'login' AND username = 'j1'")[4], "failed")
        k.login("j1")
        self.assertEqual(self.last("action = 'login' AND username = 'j1'")[4], "allowed")
        # A junior may not change the tier: refused, and the refusal is on record.
        self.assertOneError(self.j1.run("account", "set", "Alpha", "tier=top"), 4)
        row = self.last("username = 'j1' AND result = 'denied'")
        self.assertEqual(json.loads(row[6])["denied"], "account.write_tier")
        self.gm.ok("user", "add", "temp1", "--role", "junior", "--reports-to", "m1", "--password-stdin",
                   stdin=PASSWORD + "\n")
        self.assertEqual(self.last("action = 'user.add'")[4], "allowed")

    def test_no_password_or_token_in_audit_or_log(self):
        k = Kam(kamtest.ENV, self.kamd)
        k.login("m1")
        k.ok("whoami")
        with open(os.path.join(k.state_dir, "sessions")) as f:
            token = re.search(r"\b[0-9a-fA-F]{64}\b", f.read()).group(0).lower()
        dump = "\n".join("|".join(r) for r in rows("SELECT row_to_json(a)::text FROM audit_log a"))
        log = self.kamd.read_log()
        for secret in (PASSWORD, token, token.upper()):
            self.assertNotIn(secret, dump)
            self.assertNotIn(secret, log)

    # ---- append-only, enforced by the database ----

    def test_serving_role_cannot_change_the_trail(self):
        env = kamtest.ENV
        for sql in ("UPDATE audit_log SET action = 'x' WHERE id = 1", "DELETE FROM audit_log WHERE id = 1",
                    "TRUNCATE audit_log", "UPDATE audit_chain SET seq = 0", "DELETE FROM audit_chain",
                    "ALTER TABLE audit_log DISABLE TRIGGER audit_log_chain", "DROP TRIGGER audit_log_chain ON audit_log"):
            r = psql_as(env, "kam_app", sql)
            self.assertNotEqual(r.returncode, 0, f"kam_app could run: {sql}")
            self.assertRegex(r.stderr, r"permission denied|must be owner", sql)
        # It may add entries, and whatever hash or position it claims is replaced.
        r = psql_as(env, "kam_app", "INSERT INTO audit_log (username, action, result, part, seq, hash) "
                                    "VALUES ('kam_app', 'test.forged', 'allowed', 7, 999999, '\\x00')")
        self.assertEqual(r.returncode, 0, r.stderr)
        part, seq, hashlen = rows("SELECT part, seq, length(hash) FROM audit_log WHERE action = 'test.forged'")[0]
        self.assertNotEqual(seq, "999999")
        self.assertEqual(hashlen, "32")
        self.assertSuccess(self.gm.run("audit", "verify"))

    # ---- the chain against the superuser ----

    def snapshot(self):
        rows("DROP TABLE IF EXISTS t_log, t_chain")
        rows("CREATE TABLE t_log AS SELECT * FROM audit_log; CREATE TABLE t_chain AS SELECT * FROM audit_chain")

    def restore(self, keep_new=False):
        """Triggers off (superuser only): the rows go back exactly as they were. keep_new
        keeps the entries kamd wrote since the snapshot (verify's own, at least) and the
        heads that link them: kamd's checkpoint may already have signed them, and
        deleting them would be a tampering of the restore's own. Only for a tamper that
        left the heads alone, so that those entries chain to the real ones."""
        if keep_new:
            rows("SET session_replication_role = replica; "
                 "DELETE FROM audit_log WHERE id <= (SELECT max(id) FROM t_log); "
                 "INSERT INTO audit_log SELECT * FROM t_log; RESET session_replication_role")
            return
        rows("SET session_replication_role = replica; TRUNCATE audit_log; "
             "INSERT INTO audit_log SELECT * FROM t_log; DELETE FROM audit_chain; "
             "INSERT INTO audit_chain SELECT * FROM t_chain; RESET session_replication_role")

    def wait_for_checkpoint(self, timeout=60.0):
        """Wait until kamd's latest signed checkpoint covers every entry there is now:
        its heads add up to at least today's (heads only grow while nobody tampers)."""
        want = int(rows("SELECT sum(seq) FROM audit_chain")[0][0])
        deadline = time.monotonic() + timeout
        while True:
            cp = self.gm.json("audit", "verify").get("checkpoint")
            if cp and cp["entries"] >= want:
                return
            self.assertLess(time.monotonic(), deadline, f"no checkpoint covering {want} entries within {timeout} s")
            time.sleep(0.2)

    def verify_broken(self, *mentions, args=()):
        r = self.gm.run("audit", "verify", *args)
        self.assertOneError(r, 6, "BROKEN", *mentions)
        return r

    def busiest_partition(self):
        part, n = rows("SELECT part, count(*) FROM audit_log GROUP BY part ORDER BY 2 DESC LIMIT 1")[0]
        self.assertGreaterEqual(int(n), 4, "the partition needs entries to tamper with")
        return part

    def tamper(self, sql, *mentions, via_checkpoint=False):
        """Tamper as the superuser (leaving the heads alone), see verify catch it, restore,
        see the chain intact again. kamd checkpoints every second meanwhile, verify's own
        entry included: the restore keeps it."""
        self.assertNotIn("audit_chain", sql, "a tamper of the heads restores them: not through tamper()")
        self.snapshot()
        try:
            rows(sql)
            r = self.verify_broken(*mentions)
        finally:
            self.restore(keep_new=True)
        self.assertSuccess(self.gm.run("audit", "verify"))
        return r

    def test_a_intact(self):
        r = self.gm.run("audit", "verify")
        self.assertSuccess(r)
        self.assertRegex(r.out, r"^audit chain intact: \d+ entries in 8 partitions\n")
        n = int(re.search(r"intact: (\d+)", r.out).group(1))
        self.assertGreaterEqual(n, int(rows("SELECT count(*) FROM audit_log")[0][0]) - 1)
        doc = self.gm.json("audit", "verify")
        self.assertIs(doc["intact"], True)
        self.assertEqual(doc["partitions"], 8)

    def test_alter(self):
        p = self.busiest_partition()
        victim = rows(f"SELECT id FROM audit_log WHERE part = {p} ORDER BY seq OFFSET 1 LIMIT 1")[0][0]
        r = self.tamper(f"UPDATE audit_log SET detail = '{{\"forged\": true}}' WHERE id = {victim}", f"entry {victim}")
        self.assertIn("does not match its hash", r.err)

    def test_alter_time(self):
        victim = rows("SELECT id FROM audit_log ORDER BY id LIMIT 1 OFFSET 2")[0][0]
        self.tamper(f"UPDATE audit_log SET at = at - interval '1 day' WHERE id = {victim}", f"entry {victim}")

    def test_delete(self):
        p = self.busiest_partition()
        victim, seq = rows(f"SELECT id, seq FROM audit_log WHERE part = {p} ORDER BY seq OFFSET 1 LIMIT 1")[0]
        r = self.tamper(f"DELETE FROM audit_log WHERE id = {victim}", "missing")
        self.assertIn(f"where {seq} was due", r.err)

    def test_reorder(self):
        p = self.busiest_partition()
        (a, sa), (b, sb) = rows(f"SELECT id, seq FROM audit_log WHERE part = {p} ORDER BY seq OFFSET 1 LIMIT 2")
        r = self.tamper(f"UPDATE audit_log SET seq = -1 WHERE id = {a}; UPDATE audit_log SET seq = {sa} WHERE id = {b}; "
                        f"UPDATE audit_log SET seq = {sb} WHERE id = {a}", f"entry {b}")
        self.assertIn("does not match its hash", r.err)

    def test_truncate_table(self):
        r = self.tamper("TRUNCATE audit_log", "tail was cut off")
        self.assertIn("missing", r.err)

    def test_truncate_tail_and_forge_heads(self):
        """A careful superuser cuts the tail and rewrites the heads to match: the chain
        alone looks intact; the signed checkpoint kamd keeps outside the database does not."""
        for _ in range(6):
            self.m1.ok("account", "show", "Gamma")
        self.wait_for_checkpoint()   # a signed checkpoint now covers those entries
        p = self.busiest_partition()
        keep = int(rows(f"SELECT max(seq) FROM audit_log WHERE part = {p}")[0][0]) - 3
        cut = (f"DELETE FROM audit_log WHERE part = {p} AND seq > {keep}; "
               f"UPDATE audit_chain c SET seq = l.seq, hash = l.hash FROM audit_log l "
               f"WHERE c.part = {p} AND l.part = {p} AND l.seq = {keep}")
        self.snapshot()
        try:
            offset = self.kamd.log_size()
            rows(cut)
            # kamd's next checkpoint round sees the cut and must not bless the shortened chain.
            self.kamd.wait_log("AUDIT TRAIL TAMPERED", offset, timeout=60.0)
            r = self.verify_broken()
            self.assertRegex(r.err, r"checkpoint|no longer holds")
        finally:
            self.restore()
        # The daemon keeps the good checkpoint, so the restored chain verifies against it.
        self.assertSuccess(self.gm.run("audit", "verify"))

    def test_rewrite_whole_chain(self):
        """Delete an entry and recompute every hash after it (the algorithm is public):
        only a checkpoint, signed with a key the database never sees, tells."""
        self.wait_for_checkpoint()
        self.snapshot()
        try:
            p = self.busiest_partition()
            victim = rows(f"SELECT seq FROM audit_log WHERE part = {p} ORDER BY seq OFFSET 1 LIMIT 1")[0][0]
            rows(f"""DO $$
                DECLARE r audit_log; h bytea; s bigint := {victim} - 1;
                BEGIN
                  DELETE FROM audit_log WHERE part = {p} AND seq = {victim};
                  SELECT hash INTO h FROM audit_log WHERE part = {p} AND seq = s;
                  IF h IS NULL THEN h := audit_genesis({p}); END IF;
                  FOR r IN SELECT * FROM audit_log WHERE part = {p} AND seq > {victim} ORDER BY seq LOOP
                    s := s + 1; r.seq := s;
                    h := sha256(h || convert_to(audit_entry_text(r), 'UTF8'));
                    UPDATE audit_log SET seq = s, hash = h WHERE id = r.id;
                  END LOOP;
                  UPDATE audit_chain SET seq = s, hash = h WHERE part = {p};
                END $$""")
            self.verify_broken()
        finally:
            self.restore()
        self.assertSuccess(self.gm.run("audit", "verify"))

    def test_checkpoint_file(self):
        self.wait_for_checkpoint()
        copy = os.path.join(kamtest.ENV.tmp, "cp-copy")
        with open(self.cp) as f:
            text = f.read()
        self.assertRegex(text, r"^kam-audit-checkpoint 1\nat \d+\nentries \d+\n(head \d \d+ [0-9a-f]{64}\n){8}"
                               r"key [0-9a-f]{64}\nsig [0-9a-f]{128}\n$")
        with open(copy, "w") as f:
            f.write(text)
        r = self.gm.run("audit", "verify", "--checkpoint", copy)
        self.assertSuccess(r)
        self.assertIn("matches the signed checkpoint", r.out)
        # One digit changed: the signature no longer verifies.
        forged = re.sub(r"^(head 3 \d+ )(.)", lambda m: m.group(1) + ("1" if m.group(2) != "1" else "2"), text,
                        flags=re.M)
        with open(copy, "w") as f:
            f.write(forged)
        self.assertOneError(self.gm.run("audit", "verify", "--checkpoint", copy), 6, "signature")
        # Signed by another key: refused, naming both keys.
        other = Kamd(kamtest.ENV, name="other", extra={"audit_checkpoint_file": os.path.join(kamtest.ENV.tmp, "o.cp")})
        other.start()
        other.stop()
        self.assertOneError(self.gm.run("audit", "verify", "--checkpoint", os.path.join(kamtest.ENV.tmp, "o.cp")),
                            6, "not by this kamd's key")
        self.assertOneError(self.gm.run("audit", "verify", "--checkpoint", "/nonexistent/cp"), 2)

    def test_verify_is_the_gms(self):
        for k in (self.m1, self.j1):
            self.assertOneError(k.run("audit", "verify"), 4)
        self.assertEqual(self.last("action = 'audit.verify' AND result = 'denied'")[0], "j1")

    # ---- kam audit log ----

    def test_log_table_and_json(self):
        self.j1.ok("account", "show", "Alpha")
        r = self.gm.run("audit", "log", "--limit", "5")
        self.assertSuccess(r)
        lines = r.out.splitlines()
        self.assertRegex(lines[0], r"^ID +TIME +USER +ACTION +ACCOUNT +RESULT +DETAIL$")
        self.assertEqual(len(lines), 6)
        ids = [int(line.split()[0]) for line in lines[1:]]
        self.assertEqual(ids, sorted(ids, reverse=True), "newest first")
        doc = self.gm.json("audit", "log", "--account", "Alpha", "--user", "j1", "--action", "account.show",
                           "--limit", "1")
        self.assertEqual(len(doc), 1)
        e = doc[0]
        self.assertEqual((e["user"], e["role"], e["action"], e["account"], e["result"]),
                         ("j1", "junior", "account.show", "Alpha", "allowed"))
        self.assertIn("information", e["detail"]["layers"])
        self.assertRegex(e["at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertRegex(e["client_addr"], r"^127\.0\.0\.1:\d+$")

    def test_log_filters_and_paging(self):
        for i in range(3):
            self.s2.ok("account", "set", "Beta", f"headcount={i + 1}")
        doc = self.gm.json("audit", "log", "--action", "account.*", "--user", "s2")
        self.assertTrue(doc and all(e["action"].startswith("account.") and e["user"] == "s2" for e in doc))
        sets = self.gm.json("audit", "log", "--action", "account.set", "--user", "s2")
        self.assertGreaterEqual(len(sets), 3)
        # Paging: one at a time with --before gives the same entries as all at once.
        seen, before = [], None
        for _ in range(len(sets)):
            args = ["audit", "log", "--action", "account.set", "--user", "s2", "--limit", "1"]
            page = self.gm.json(*(args + (["--before", str(before)] if before else [])))
            seen += page
            before = page[-1]["id"]
        self.assertEqual([e["id"] for e in seen], [e["id"] for e in sets])
        # Time windows: everything is after an hour ago and nothing in the future.
        self.assertTrue(self.gm.json("audit", "log", "--since", "1h", "--user", "s2", "--limit", "3"))
        self.assertEqual(self.gm.json("audit", "log", "--since", "2099-01-01"), [])
        self.assertEqual(self.gm.json("audit", "log", "--until", "2000-01-01T00:00:00Z"), [])
        self.assertOneError(self.gm.run("audit", "log", "--since", "yesterday-ish"), 2, "invalid time")
        self.assertOneError(self.gm.run("audit", "log", "--since", "2h", "--until", "3h"), 2)

    def test_log_visibility(self):
        self.j1.ok("account", "show", "Alpha")
        self.s2.ok("account", "show", "Beta")
        # m1 sees Alpha (j1 reports to m1) and Gamma (their own), never Beta.
        accounts = {e.get("account") for e in self.m1.json("audit", "log")}
        self.assertIn("Alpha", accounts)
        self.assertNotIn("Beta", accounts)
        self.assertNotIn(None, accounts, "a manager sees entries about accounts only")
        # An account they cannot see is not found, exactly like a missing one.
        self.assertOneError(self.m1.run("audit", "log", "--account", "Beta"), 5, "no account named Beta")
        self.assertOneError(self.m1.run("audit", "log", "--account", "Nope"), 5, "no account named Nope")
        # The GM sees everything, logins included.
        actions = {e["action"] for e in self.gm.json("audit", "log", "--limit", "1000")}
        self.assertTrue({"login", "account.show", "user.add"} <= actions)
        # Reps see none of it, and the refusal is audited.
        for k in (self.j1, self.s2):
            self.assertOneError(k.run("audit", "log"), 4, "audit trail")
        self.assertEqual(self.last("action = 'audit.log' AND result = 'denied'")[0], "s2")
        # Reading the trail is on the trail.
        self.assertEqual(self.last("action = 'audit.log' AND result = 'allowed'")[0], "gm")


if __name__ == "__main__":
    kamtest.main()
