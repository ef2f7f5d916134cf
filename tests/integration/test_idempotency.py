"""Idempotency keys (issue 7): a write carries a client-generated request key,
and kamd applies a key once per user. The same key again answers `replayed`
(success, no body) and changes nothing: one row, one audit entry. Another
user's same key is another write; a refused write does not use its key up; a
key on a read means nothing; two connections racing with one key apply it
once; a write whose answer was lost, sent again, is applied once; a retry
refused because of what its first attempt changed (a version, a cleared
barrier) is recognised as applied. Keys are bounded on the wire and on kam's
command line, kept 24 h, pruned on the way, and out of the serving role's
reach."""

import json
import os
import subprocess
import threading

import kamtest
from kamtest import GM, PASSWORD, Kam, Kamd, RawClient, TestCase, setUpModule, tearDownModule  # noqa: F401

pb = kamtest.pb
REPLAYED = "kam: already applied (the first answer was lost); nothing changed now"
RACE_ROUNDS = 8
LOST_ROUNDS = 12


def new_key(n=16):
    return os.urandom(n)


def psql(sql):
    return kamtest.ENV.psql(sql)


def count(sql):
    return int(psql(sql)[0][0])


def barriers(text):
    return count(f"SELECT count(*) FROM barriers WHERE description = '{text}'")


def audited(action, text):
    """Allowed audit entries of action whose detail mentions text."""
    return count(f"SELECT count(*) FROM audit_log WHERE action = '{action}' AND result = 'allowed' "
                 f"AND detail::text LIKE '%{text}%'")


def barrier_fields(text):
    return [pb.FieldValue(name="kind", value="other"), pb.FieldValue(name="description", value=text)]


def keyed(c, body, key, **fields):
    """A Request for body with fields, carrying request_key key."""
    req = c.request(body, **fields)
    req.request_key = key
    return req


def call(c, req):
    """Send a prepared Request on c and return its Response, checking the id is echoed."""
    c.send(req)
    resp = c.recv_response()
    if resp.id != req.id:
        raise AssertionError(f"response id {resp.id} != request id {req.id}: {resp}")
    return resp


def as_serving(sql):
    """psql as the serving role kam_app; returns the CompletedProcess."""
    env = kamtest.ENV
    return subprocess.run([kamtest.psql_bin(), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", env.pghost,
                           "-p", env.pgport, "-U", "kam_app", "-d", env.dbname, "-c", sql],
                          capture_output=True, text=True, timeout=kamtest.CMD_TIMEOUT)


class Idempotency(TestCase):

    @classmethod
    def setUpClass(cls):
        cls.kamd = Kamd(kamtest.ENV).ensure_gm().start()
        cls.gm = kamtest.gm_kam(cls.kamd)
        kamtest.add_users(cls.gm, "m1 manager", "j1 junior m1")
        cls.gm.ok("account", "add", "Idem", "--tier", "important")
        cls.gm.ok("account", "add", "Closed Door", "--tier", "ordinary", "--owner", "m1")
        cls.kam = {GM: cls.gm}
        for user in ("m1", "j1"):
            cls.kam[user] = Kam(kamtest.ENV, cls.kamd)
            cls.kam[user].login(user)

    def raw(self, user=GM):
        c = RawClient(self.kamd)
        self.addCleanup(c.close)
        c.login(user)
        return c

    def assertReplayed(self, resp):
        self.assertFalse(resp.HasField("error"), f"{resp}")
        self.assertTrue(resp.replayed, f"expected replayed: {resp}")
        self.assertEqual(resp.WhichOneof("body"), None, f"a replayed answer has no body: {resp}")

    def assertApplied(self, resp, body):
        self.assertFalse(resp.HasField("error"), f"{resp}")
        self.assertFalse(resp.replayed, f"{resp}")
        self.assertEqual(resp.WhichOneof("body"), body, f"{resp}")

    # ---- the same key twice ----

    def test_same_key_twice_applies_once(self):
        c, key, text = self.raw(), new_key(), "twice-barrier"
        resp = call(c, keyed(c, "barrier_add", key, account="Idem", fields=barrier_fields(text)))
        self.assertApplied(resp, "barrier_add")
        # Again on the same connection, and on another one: nothing changes.
        self.assertReplayed(call(c, keyed(c, "barrier_add", key, account="Idem", fields=barrier_fields(text))))
        c2 = self.raw()
        self.assertReplayed(call(c2, keyed(c2, "barrier_add", key, account="Idem", fields=barrier_fields(text))))
        self.assertEqual(barriers(text), 1)
        self.assertEqual(audited("barrier.add", text), 1, "exactly one audit entry for the act")
        # A new key is a new write.
        self.assertApplied(call(c, keyed(c, "barrier_add", new_key(), account="Idem", fields=barrier_fields(text))),
                           "barrier_add")
        self.assertEqual(barriers(text), 2)

    def test_user_add_keyed_across_password_hashing(self):
        # The password is hashed on the thread pool between the request and its write: the key
        # must still go with the write (svc_resume), so the same add again is a replay.
        c, key = self.raw(), new_key()
        fields = dict(username="keyed1", role=pb.ROLE_JUNIOR, reports_to="m1", password=PASSWORD)
        self.assertApplied(call(c, keyed(c, "user_add", key, **fields)), "user_add")
        self.assertReplayed(call(c, keyed(c, "user_add", key, **fields)))
        self.assertEqual(count("SELECT count(*) FROM users WHERE username = 'keyed1'"), 1)
        self.assertEqual(count(f"SELECT count(*) FROM request_keys WHERE key = '\\x{key.hex()}'"), 1)
        # Without the key, the same add is the conflict it is.
        self.assertRespError(c.call("user_add", **fields), pb.ERROR_CODE_CONFLICT)

    def test_same_key_twice_on_unique_and_versioned_writes(self):
        c, key = self.raw(), new_key(32)
        self.assertApplied(call(c, keyed(c, "account_add", key, name="Twice Corp", tier=pb.TIER_ORDINARY)),
                           "account_add")
        # The name is taken now, and the key says by this very write: replayed, not a conflict.
        self.assertReplayed(call(c, keyed(c, "account_add", key, name="Twice Corp", tier=pb.TIER_ORDINARY)))
        self.assertEqual(count("SELECT count(*) FROM accounts WHERE name = 'Twice Corp'"), 1)
        self.assertEqual(count("SELECT count(*) FROM audit_log a JOIN accounts x ON x.id = a.account_id "
                               "WHERE x.name = 'Twice Corp' AND a.action = 'account.add'"), 1)
        # A change made with --if-version: its retry finds the version moved on, by itself.
        v = c.call("account_show", account="Twice Corp").account_show.account.version
        key = new_key()
        set_req = dict(account="Twice Corp", if_version=v, fields=[pb.FieldValue(name="notes", value="once")])
        self.assertApplied(call(c, keyed(c, "account_set", key, **set_req)), "account_set")
        self.assertReplayed(call(c, keyed(c, "account_set", key, **set_req)))
        self.assertEqual(c.call("account_show", account="Twice Corp").account_show.account.version, v + 1)
        # Without the key, the same stale change is the conflict it is.
        resp = c.call("account_set", **set_req)
        self.assertRespError(resp, pb.ERROR_CODE_CONFLICT)
        self.assertFalse(resp.replayed)

    def test_cli_request_key(self):
        gm, key, text = self.gm, new_key().hex(), "cli-keyed-barrier"
        r = gm.run("barrier", "add", "Idem", "--kind", "other", text, globals_=("--request-key", key))
        self.assertSuccess(r)
        self.assertRegex(r.out, r"^\d+\n$")
        r = gm.run("barrier", "add", "Idem", "--kind", "other", text, globals_=("--request-key", key))
        self.assertEqual((r.rc, r.out, r.err), (0, "", REPLAYED + "\n"))
        r = gm.run("barrier", "add", "Idem", "--kind", "other", text, json=True, globals_=("--request-key", key))
        self.assertEqual(r.rc, 0)
        self.assertEqual(json.loads(r.out), {"replayed": True})
        self.assertEqual(barriers(text), 1)
        self.assertEqual(audited("barrier.add", text), 1)
        # A cleared barrier cleared again with the same key was applied; with a new key it is refused.
        bid = gm.ok("barrier", "add", "Idem", "--kind", "other", "cli-clear-me").out.strip()
        key = new_key().hex()
        self.assertSuccess(gm.run("barrier", "clear", bid, globals_=("--request-key", key)))
        r = gm.run("barrier", "clear", bid, globals_=("--request-key", key))
        self.assertEqual((r.rc, r.err), (0, REPLAYED + "\n"))
        self.assertOneError(gm.run("barrier", "clear", bid), 6, "cleared already")
        self.assertEqual(count(f"SELECT count(*) FROM audit_log WHERE action = 'barrier.clear' "
                               f"AND result = 'allowed' AND detail->>'barrier' = '{bid}'"), 1)

    def test_cli_request_key_malformed(self):
        for bad in ("00" * 15, "00" * 65, "0" * 33, "zz" * 16, ""):
            r = self.gm.run("barrier", "add", "Idem", "--kind", "other", "never", globals_=("--request-key", bad))
            self.assertOneError(r, 2, "--request-key", "32 to 128 hex digits")
        # On a read it is a mistake, not ignored: nothing is sent.
        r = self.gm.run("account", "show", "Idem", globals_=("--request-key", new_key().hex()))
        self.assertOneError(r, 2, "--request-key")
        self.assertEqual(barriers("never"), 0)
        # At the bounds it is taken.
        for n in (16, 64):
            self.assertSuccess(self.gm.run("barrier", "add", "Idem", "--kind", "other", f"bound-{n}",
                                           globals_=("--request-key", new_key(n).hex().upper())))

    def test_kam_help_documents_request_key(self):
        r = self.gm.bare("--help")
        self.assertEqual(r.rc, 0)
        self.assertIn("--request-key HEX", r.out)

    # ---- whose key, which requests ----

    def test_same_key_by_another_user_is_another_write(self):
        key, text = new_key(), "two-users-barrier"
        gm, m1 = self.raw(GM), self.raw("m1")
        self.assertApplied(call(gm, keyed(gm, "barrier_add", key, account="Closed Door", fields=barrier_fields(text))),
                           "barrier_add")
        self.assertApplied(call(m1, keyed(m1, "barrier_add", key, account="Closed Door", fields=barrier_fields(text))),
                           "barrier_add")
        self.assertReplayed(call(m1, keyed(m1, "barrier_add", key, account="Closed Door",
                                          fields=barrier_fields(text))))
        self.assertEqual(barriers(text), 2)
        self.assertEqual(count("SELECT count(*) FROM request_keys WHERE key = '\\x%s'" % key.hex()), 2)

    def test_denied_write_keeps_its_key(self):
        j1, key, text = self.raw("j1"), new_key(), "after-the-grant"
        req = dict(account="Closed Door", fields=[pb.FieldValue(name="notes", value=text)])
        # j1 is not on the team: the account reads as missing, and the refusal is audited.
        resp = call(j1, keyed(j1, "account_set", key, **req))
        self.assertRespError(resp, pb.ERROR_CODE_NOT_FOUND)
        self.assertFalse(resp.replayed)
        self.assertEqual(count("SELECT count(*) FROM audit_log a JOIN accounts x ON x.id = a.account_id "
                               "WHERE x.name = 'Closed Door' AND a.username = 'j1' AND a.result = 'denied'"), 1)
        self.assertEqual(count("SELECT count(*) FROM request_keys WHERE key = '\\x%s'" % key.hex()), 0)
        # Once j1 is on the team, the same key applies: the refusal did not use it up.
        self.kam["m1"].ok("account", "assign", "Closed Door", "j1")
        self.assertApplied(call(j1, keyed(j1, "account_set", key, **req)), "account_set")
        self.assertReplayed(call(j1, keyed(j1, "account_set", key, **req)))
        self.assertEqual(psql("SELECT notes FROM accounts WHERE name = 'Closed Door'"), [[text]])
        self.assertEqual(count("SELECT count(*) FROM audit_log WHERE action = 'account.set' AND username = 'j1' "
                               f"AND result = 'allowed' AND detail::text LIKE '%{text}%'"), 1)

    def test_refused_write_keeps_its_key(self):
        # A refusal by a rule (an unknown tier keyword's sibling: a duplicate name) does not use it up either.
        c, key = self.raw(), new_key()
        resp = call(c, keyed(c, "account_add", key, name="Idem", tier=pb.TIER_ORDINARY))
        self.assertRespError(resp, pb.ERROR_CODE_CONFLICT)
        self.assertFalse(resp.replayed)
        self.assertApplied(call(c, keyed(c, "account_add", key, name="Refused Then Fine", tier=pb.TIER_ORDINARY)),
                           "account_add")

    def test_key_on_a_read_is_ignored(self):
        c, key = self.raw(), new_key()
        before = count("SELECT count(*) FROM audit_log WHERE action = 'account.show'")
        for _ in range(2):
            self.assertApplied(call(c, keyed(c, "account_show", key, account="Idem")), "account_show")
        self.assertEqual(count("SELECT count(*) FROM audit_log WHERE action = 'account.show'"), before + 2)
        self.assertEqual(count("SELECT count(*) FROM request_keys WHERE key = '\\x%s'" % key.hex()), 0)
        # ... and the key is still free for a write.
        text = "read-key-then-write"
        self.assertApplied(call(c, keyed(c, "barrier_add", key, account="Idem", fields=barrier_fields(text))),
                           "barrier_add")
        self.assertEqual(barriers(text), 1)

    def test_malformed_key_on_the_wire(self):
        c = self.raw()
        for n in (1, 15, 65, 200):
            resp = call(c, keyed(c, "barrier_add", b"k" * n, account="Idem", fields=barrier_fields("never-wire")))
            self.assertRespError(resp, pb.ERROR_CODE_INVALID_ARGUMENT, field="request_key")
            self.assertIn("16 to 64 bytes", resp.error.message)
        # The connection stays usable, and nothing was written.
        self.assertApplied(c.call("whoami"), "whoami")
        self.assertEqual(barriers("never-wire"), 0)

    # ---- races and lost answers ----

    def test_two_connections_race_with_one_key(self):
        for i in range(RACE_ROUNDS):
            key, text = new_key(), f"race-{i}"
            clients = [self.raw(), self.raw()]
            reqs = [keyed(c, "barrier_add", key, account="Idem", fields=barrier_fields(text)) for c in clients]
            start = threading.Barrier(len(clients))
            resps = [None] * len(clients)

            def go(n):
                start.wait()
                resps[n] = call(clients[n], reqs[n])
            threads = [threading.Thread(target=go, args=(n,)) for n in range(len(clients))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            applied = [r for r in resps if not r.HasField("error") and not r.replayed]
            replayed = [r for r in resps if not r.HasField("error") and r.replayed]
            self.assertEqual((len(applied), len(replayed)), (1, 1), f"round {i}: {resps}")
            self.assertEqual(barriers(text), 1)
            self.assertEqual(audited("barrier.add", text), 1)

    def test_lost_answer_then_retry(self):
        outcomes = {"applied": 0, "replayed": 0}
        for i in range(LOST_ROUNDS):
            key, text = new_key(), f"lost-{i}"
            c = RawClient(self.kamd)
            c.login()
            token = c.token
            c.send(keyed(c, "barrier_add", key, account="Idem", fields=barrier_fields(text)))
            c.close()   # before reading the answer
            c2 = self.raw()
            resp = call(c2, keyed(c2, "barrier_add", key, account="Idem", fields=barrier_fields(text), token=token))
            self.assertFalse(resp.HasField("error"), f"{resp}")
            outcomes["replayed" if resp.replayed else "applied"] += 1
            self.assertEqual(barriers(text), 1, f"round {i}: applied exactly once")
            self.assertEqual(audited("barrier.add", text), 1)
        print(f"\nlost answers then retried x{LOST_ROUNDS}: {outcomes}")

    # ---- the key table ----

    def test_keys_expire_after_a_day_and_are_pruned(self):
        c, key, text = self.raw(), new_key(), "expired-key"
        self.assertApplied(call(c, keyed(c, "barrier_add", key, account="Idem", fields=barrier_fields(text))),
                           "barrier_add")
        psql("UPDATE request_keys SET created_at = now() - interval '25 hours' WHERE key = '\\x%s'" % key.hex())
        # Twenty more expired keys of a user who is gone; each claim prunes at most 16.
        psql("INSERT INTO request_keys (user_id, key, created_at) SELECT 999999, sha256(g::text::bytea), "
             "now() - interval '2 days' FROM generate_series(1, 20) g")
        self.assertApplied(call(c, keyed(c, "barrier_add", key, account="Idem", fields=barrier_fields(text))),
                           "barrier_add")
        self.assertEqual(barriers(text), 2, "an expired key is a new write")
        self.assertReplayed(call(c, keyed(c, "barrier_add", key, account="Idem", fields=barrier_fields(text))))
        left = count("SELECT count(*) FROM request_keys WHERE created_at < now() - interval '24 hours'")
        self.assertLessEqual(left, 20 - 16 + 1)
        self.assertGreaterEqual(left, 4 - 1, "a few at a time, not all")

    def test_one_key_twice_in_one_transaction_asks_for_a_retry(self):
        # kamd's group commit may put both attempts into one transaction: the second claim
        # cannot tell yet whether the first will commit, so the whole batch must run again
        # (a transaction-rollback SQLSTATE), never answer "replayed".
        uid = psql(f"SELECT id FROM users WHERE username = '{GM}'")[0][0]
        key = new_key().hex()
        arm = f"SELECT set_config('kam.user_id', '{uid}', true), set_config('kam.request_key', '{key}', true);"
        entry = "INSERT INTO audit_log (username, action, result) VALUES ('gm', 'test.key', 'allowed');"
        r = as_serving("BEGIN;" + arm + entry + arm + entry + "COMMIT;")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("claimed twice in one transaction", r.stderr)
        self.assertEqual(count("SELECT count(*) FROM request_keys WHERE key = '\\x%s'" % key), 0)
        # Armed once, the first allowed entry claims it and the second does not try.
        r = as_serving("BEGIN;" + arm + entry + entry + "COMMIT;")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(count("SELECT count(*) FROM request_keys WHERE key = '\\x%s'" % key), 1)
        # A denied entry claims nothing.
        key2 = new_key().hex()
        r = as_serving(f"BEGIN; SELECT set_config('kam.user_id', '{uid}', true), "
                       f"set_config('kam.request_key', '{key2}', true); "
                       "INSERT INTO audit_log (username, action, result) VALUES ('gm', 'test.key', 'denied'); COMMIT;")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(count("SELECT count(*) FROM request_keys WHERE key = '\\x%s'" % key2), 0)

    def test_serving_role_cannot_touch_the_keys(self):
        for sql in ("SELECT * FROM request_keys", "DELETE FROM request_keys",
                    "INSERT INTO request_keys (user_id, key) VALUES (1, '\\x00112233445566778899aabbccddeeff')"):
            r = as_serving(sql)
            self.assertNotEqual(r.returncode, 0, f"kam_app could run: {sql}")
            self.assertIn("permission denied", r.stderr)
        # The claim needs an acting user; it never claims for nobody.
        r = as_serving("SELECT kam_request_key_claim('\\x00112233445566778899aabbccddeeff')")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("acting user", r.stderr)


if __name__ == "__main__":
    kamtest.main()
