"""Every exit code of the contract, reached through the real kam in one run:
0 success, 2 usage, 3 not authenticated, 4 permission denied, 5 not found,
6 invalid input or conflict, 7 server unavailable."""

import json

import kamtest
from kamtest import GM, PASSWORD, Kam, Kamd, TestCase, free_port, setUpModule, tearDownModule  # noqa: F401

# The --json error code for each exit code (common/model.h kam_status_str, plus the client's own).
JSON_CODES = {2: {"usage"}, 3: {"unauthenticated"}, 4: {"permission_denied"}, 5: {"not_found"},
              6: {"invalid_argument", "conflict"}, 7: {"unavailable"}}


class ExitCodes(TestCase):

    @classmethod
    def setUpClass(cls):
        env = kamtest.ENV
        cls.kamd = Kamd(env).ensure_gm().start()
        cls.gm = Kam(env, cls.kamd)
        cls.gm.login(GM)
        cls.gm.ok("user", "add", "rep", "--role", "junior", "--password-stdin", stdin=PASSWORD + "\n")
        cls.gm.ok("account", "add", "Exit Corp", "--tier", "important")
        cls.rep = Kam(env, cls.kamd)
        cls.rep.login("rep")
        cls.stranger = Kam(env, cls.kamd)
        cls.down = Kam(env, server=f"127.0.0.1:{free_port()}", ca=env.cert)

    def cases(self):
        return [
            (0, self.gm, ["account", "show", "Exit Corp"]),
            (2, self.gm, ["account", "show"]),
            (3, self.stranger, ["account", "list"]),
            (3, self.stranger, ["login", GM, "--password-stdin"], "wrong password!!\n"),
            (4, self.rep, ["user", "list"]),
            (5, self.gm, ["account", "show", "Missing Corp"]),
            (5, self.rep, ["account", "show", "Exit Corp"]),
            (6, self.gm, ["account", "add", "Exit Corp", "--tier", "ordinary"]),
            (6, self.gm, ["account", "set", "Exit Corp", "founded=abc"]),
            (7, self.down, ["login", GM, "--password-stdin"], PASSWORD + "\n"),
        ]

    def test_every_exit_code(self):
        seen = set()
        for code, kam, args, *stdin in self.cases():
            stdin = stdin[0] if stdin else None
            with self.subTest(code=code, args=" ".join(args)):
                r = kam.run(*args, stdin=stdin)
                if code == 0:
                    self.assertSuccess(r)
                else:
                    self.assertOneError(r, code)
                seen.add(r.rc)
        self.assertEqual(seen, {0, 2, 3, 4, 5, 6, 7})

    def test_every_exit_code_json(self):
        for code, kam, args, *stdin in self.cases():
            stdin = stdin[0] if stdin else None
            with self.subTest(code=code, args=" ".join(args)):
                r = kam.run(*args, stdin=stdin, json=True)
                if code == 0:
                    self.assertSuccess(r)
                    json.loads(r.out)
                    continue
                self.assertOneError(r, code, json=True)
                err = json.loads(r.out)["error"]
                self.assertIn(err["code"], JSON_CODES[code], f"{r}")
                self.assertTrue(err["message"])
                self.assertIn(err["message"], r.err, f"the same message on both streams:{r}")


if __name__ == "__main__":
    kamtest.main()
