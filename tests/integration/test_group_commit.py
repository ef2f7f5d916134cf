"""Group commit (issue 5): requests served at the same moment share one
transaction, so one commit flush, and are answered only after it; one
request's failure does not fail the others it shared a transaction with.

Shown from the database's side: rows written in one transaction carry the
same xmin. Many pipelined audited reads must leave fewer distinct xmins than
audit rows; a burst of account adds with duplicates among them must fail
exactly the duplicates, apply every other add exactly once with its audit
entry, and kamd must log that a batch was rolled back and run again."""

import kamtest
from kamtest import GM, Kamd, RawClient, TestCase, pb, setUpModule, tearDownModule  # noqa: F401

CONNS = 8           # client connections, each pipelining its requests
PER_CONN = 12       # requests each sends before reading any answer
ROUNDS = 6          # bursts of adds, until one put a duplicate in a shared batch


def rows(sql):
    return kamtest.ENV.psql(sql)


class GroupCommit(TestCase):

    @classmethod
    def setUpClass(cls):
        cls.kamd = Kamd(kamtest.ENV, extra={"log_level": "debug", "db_pool_size": "2",
                                            "bulk_read_limit": "0"}).ensure_gm().start()
        cls.clients = []
        for _ in range(CONNS):
            c = RawClient(cls.kamd)
            c.login(GM)
            cls.clients.append(c)
        for i in range(PER_CONN):
            cls.assert_ok(cls.clients[0].call("account_add", name=f"gc-read-{i}", tier=pb.TIER_ORDINARY))

    @classmethod
    def tearDownClass(cls):
        for c in cls.clients:
            c.close()

    @staticmethod
    def assert_ok(resp):
        if resp.HasField("error") and resp.error.code != pb.ERROR_CODE_OK:
            raise AssertionError(f"request failed: {resp}")
        return resp

    def test_reads_answered_and_batched(self):
        before = int(rows("SELECT coalesce(max(id), 0) FROM audit_log")[0][0])
        sent = []
        for c in self.clients:
            sent.append([c.send(c.request("account_show", account=f"gc-read-{i}")) for i in range(PER_CONN)])
        for c, reqs in zip(self.clients, sent):
            # Answers come in the order they are ready, not the order sent: match by id.
            answers = {}
            for _ in reqs:
                resp = c.recv_response()
                answers[resp.id] = resp
            for req in reqs:
                resp = self.assert_ok(answers[req.id])
                self.assertTrue(resp.HasField("account_show"), f"{resp}")
        n, xacts = rows(f"SELECT count(*), count(DISTINCT xmin::text) FROM audit_log "
                        f"WHERE id > {before} AND action = 'account.show'")[0]
        n, xacts = int(n), int(xacts)
        # Every answered read has its audit entry, and they did not take a commit each.
        self.assertEqual(n, CONNS * PER_CONN)
        self.assertLess(xacts, n, "every audited read committed on its own: no group commit")

    def test_failing_request_does_not_fail_its_batch(self):
        offset = self.kamd.log_size()
        seen_rollback = False
        for rnd in range(ROUNDS):
            # Every third add of a connection repeats a name that already exists.
            existing = f"gc-read-{rnd % PER_CONN}"
            sent = []
            for ci, c in enumerate(self.clients):
                reqs = []
                for i in range(PER_CONN):
                    name = existing if i % 3 == 2 else f"gc-add-{rnd}-{ci}-{i}"
                    reqs.append((name, c.send(c.request("account_add", name=name, tier=pb.TIER_ORDINARY))))
                sent.append(reqs)
            for c, reqs in zip(self.clients, sent):
                answers = {}
                for _ in reqs:
                    resp = c.recv_response()
                    answers[resp.id] = resp
                for name, req in reqs:
                    resp = answers[req.id]
                    if name == existing:
                        self.assertRespError(resp, pb.ERROR_CODE_CONFLICT)
                    else:
                        self.assert_ok(resp)
                        self.assertEqual(resp.account_add.account.name, name)
            added = rows(f"SELECT count(*), count(DISTINCT name) FROM accounts WHERE name LIKE 'gc-add-{rnd}-%'")[0]
            audited = rows(f"SELECT count(*) FROM audit_log a JOIN accounts c ON c.id = a.account_id "
                           f"WHERE a.action = 'account.add' AND a.result = 'allowed' "
                           f"AND c.name LIKE 'gc-add-{rnd}-%'")[0][0]
            want = CONNS * (PER_CONN - PER_CONN // 3)
            self.assertEqual((int(added[0]), int(added[1])), (want, want))
            self.assertEqual(int(audited), want, "each applied add has exactly one audit entry")
            if "rolled back" in self.kamd.read_log(offset):
                seen_rollback = True
                break
        self.assertTrue(seen_rollback, "no batch held a failing request: nothing was batched")
        # The chain still verifies after batches were rolled back and run again.
        c = self.clients[0]
        resp = self.assert_ok(c.call("audit_verify"))
        self.assertTrue(resp.HasField("audit_verify"), f"{resp}")


if __name__ == "__main__":
    kamtest.main()
