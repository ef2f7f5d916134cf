"""TLS policy (issue 6), seen from the outside with `openssl s_client` and the
real `kam`: TLS 1.3 only, AEAD suites only (the three with a full tag), no
session tickets and so no 0-RTT; a client refuses a wrong host name and an
untrusted certificate. (SIGHUP reloading the certificate while an open
connection goes on is test_drain.py's test_sighup_reloads_certificate.)"""

import os
import subprocess
import time

import kamtest
from kamtest import (CMD_TIMEOUT, GM, PASSWORD, Kam, Kamd, RawClient, TestCase, make_cert, setUpModule,  # noqa: F401
                     tearDownModule)

ALLOWED = ("TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256")
REFUSED = ("TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256")


def s_client(port, *args, hold=0.0):
    """openssl s_client against 127.0.0.1:port, its stdin closed after hold seconds (so it
    reads what the server sends after the handshake); (exit code, stdout + stderr)."""
    p = subprocess.Popen(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-brief", *args],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(hold)
    out, _ = p.communicate(input="", timeout=CMD_TIMEOUT)
    return p.returncode, out


def cert_for(directory, name, san):
    """A self-signed certificate for san (e.g. DNS:otherhost) only."""
    cert = os.path.join(directory, f"{name}.crt")
    key = os.path.join(directory, f"{name}.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "2", "-subj", "/CN=" + san.split(":", 1)[1], "-addext", f"subjectAltName={san}",
                    "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=CMD_TIMEOUT)
    os.chmod(key, 0o600)
    return cert, key


class Policy(TestCase):

    @classmethod
    def setUpClass(cls):
        env = kamtest.ENV
        cls.kamd = Kamd(env).ensure_gm().start()
        cls.other_cert, cls.other_key = cert_for(env.tmp, "otherhost", "DNS:otherhost")
        cls.elsewhere = Kamd(env, name="kamd-otherhost", cert=cls.other_cert, key=cls.other_key).start()
        cls.stranger, _ = make_cert(env.tmp, "stranger")   # valid for localhost, but nobody's CA

    def test_tls13_works_with_each_allowed_suite(self):
        for suite in ALLOWED:
            rc, out = s_client(self.kamd.port, "-tls1_3", "-ciphersuites", suite, "-CAfile", self.kamd.cert,
                               "-verify_return_error")
            self.assertEqual(rc, 0, f"{suite}: {out}")
            self.assertIn("Protocol version: TLSv1.3", out)
            self.assertIn(f"Ciphersuite: {suite}", out)

    def test_other_tls13_suites_refused(self):
        for suite in REFUSED:
            rc, out = s_client(self.kamd.port, "-tls1_3", "-ciphersuites", suite)
            self.assertNotEqual(rc, 0, f"{suite} was accepted: {out}")
            self.assertNotIn("Ciphersuite:", out)

    def test_tls12_and_older_refused(self):
        for version in ("-tls1_2", "-tls1_1"):
            rc, out = s_client(self.kamd.port, version)
            self.assertNotEqual(rc, 0, f"{version} was accepted: {out}")
            self.assertNotIn("Protocol version: TLSv1.2", out)
        # The daemon goes on serving.
        with RawClient(self.kamd) as c:
            self.assertRespOk(c.login())

    def test_no_session_tickets_so_no_0rtt(self):
        sess = os.path.join(kamtest.ENV.tmp, "s_client.sess")
        # -msg shows every handshake message; holding stdin open a second lets s_client read
        # what a server sends after the handshake, where tickets would come.
        rc, out = s_client(self.kamd.port, "-tls1_3", "-msg", "-sess_out", sess, "-CAfile", self.kamd.cert,
                           hold=1.0)
        self.assertEqual(rc, 0, out)
        self.assertIn("Finished", out)
        self.assertNotIn("NewSessionTicket", out)
        self.assertNotIn("NEW_SESSION_TICKET", out.upper().replace(" ", "_"))
        # Offering the saved session with early data: nothing is resumed, nothing accepted early.
        early = os.path.join(kamtest.ENV.tmp, "early.bin")
        with open(early, "wb") as f:
            f.write(b"\x00\x00\x00\x02\x08\x01")
        if os.path.exists(sess) and os.path.getsize(sess) > 0:
            rc, out = s_client(self.kamd.port, "-tls1_3", "-sess_in", sess, "-early_data", early,
                               "-CAfile", self.kamd.cert)
            self.assertNotIn("Early data was accepted", out)
            self.assertNotIn("Reused", out)
        # Python agrees: the session carries no ticket.
        with RawClient(self.kamd) as c:
            c.login()
            self.assertFalse(c.tls.session is not None and c.tls.session.has_ticket)

    def test_wrong_host_name_refused(self):
        # A certificate for "otherhost" reached as 127.0.0.1 or localhost: refused, even though
        # the file given as CA is that very certificate.
        kam = Kam(kamtest.ENV, self.elsewhere, ca=self.other_cert)
        r = kam.run("login", GM, "--password-stdin", stdin=PASSWORD + "\n")
        self.assertOneError(r, 7, "certificate")
        r = kam.run("login", GM, "--password-stdin", stdin=PASSWORD + "\n",
                    server=f"localhost:{self.elsewhere.port}")
        self.assertOneError(r, 7, "certificate")
        rc, out = s_client(self.elsewhere.port, "-CAfile", self.other_cert, "-verify_return_error",
                           "-verify_hostname", "localhost")
        self.assertNotEqual(rc, 0, out)
        self.assertIn("verify", out.lower())
        # The right name passes the same check (the test is not broken).
        rc, out = s_client(self.elsewhere.port, "-CAfile", self.other_cert, "-verify_return_error",
                           "-verify_hostname", "otherhost")
        self.assertEqual(rc, 0, out)

    def test_untrusted_certificate_refused(self):
        kam = Kam(kamtest.ENV, self.kamd, ca=self.stranger)
        r = kam.run("login", GM, "--password-stdin", stdin=PASSWORD + "\n")
        self.assertOneError(r, 7, "certificate")
        self.assertEqual(kam.files(), [], "nothing is stored after a refused server")
        rc, out = s_client(self.kamd.port, "-CAfile", self.stranger, "-verify_return_error")
        self.assertNotEqual(rc, 0, out)
        # With the right CA, kam gets in.
        Kam(kamtest.ENV, self.kamd).login(GM)


if __name__ == "__main__":
    kamtest.main()
