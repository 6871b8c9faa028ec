"""A real SMTP server for tests: aiosmtpd on loopback, each message written
to a directory as NNNN.eml with the envelope and what the session was
(TLS, authenticated user) in X- headers above the message itself.

usage: smtpd.py DIR PORT [--user U --password P] [--starttls CERT KEY | --tls CERT KEY]
It prints READY when it accepts connections and stops when stdin closes.
"""
import os
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


class Handler:
    def __init__(self, outdir):
        self.outdir = outdir
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        path = os.path.join(self.outdir, "%04d.eml" % self.n)
        head = "X-Envelope-From: %s\r\nX-Envelope-To: %s\r\nX-TLS: %s\r\nX-Auth: %s\r\n" % (
            envelope.mail_from, ",".join(envelope.rcpt_tos),
            "yes" if session.ssl or server.transport.get_extra_info("ssl_object") else "no",
            session.auth_data.login.decode() if getattr(session, "auth_data", None) else "")
        with open(path + ".tmp", "wb") as f:
            f.write(head.encode())
            f.write(envelope.original_content)
        os.rename(path + ".tmp", path)
        return "250 OK"


def main():
    args = sys.argv[1:]
    outdir, port = args[0], int(args[1])
    opts = {}
    i = 2
    user = password = None
    while i < len(args):
        if args[i] == "--user":
            user, i = args[i + 1], i + 2
        elif args[i] == "--password":
            password, i = args[i + 1], i + 2
        elif args[i] in ("--starttls", "--tls"):
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(args[i + 1], args[i + 2])
            if args[i] == "--starttls":
                opts["tls_context"] = ctx
                opts["require_starttls"] = True
            else:
                opts["ssl_context"] = ctx
            i += 3
        else:
            sys.exit("unknown argument " + args[i])
    if user is not None:
        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = auth_data.login.decode() == user and auth_data.password.decode() == password
            return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)
        opts["authenticator"] = authenticator
        opts["auth_required"] = True
        # Implicit TLS is encrypted from the start; aiosmtpd's own check
        # knows STARTTLS only.
        opts["auth_require_tls"] = "tls_context" in opts
    c = Controller(Handler(outdir), hostname="127.0.0.1", port=port, **opts)
    c.start()
    print("READY", flush=True)
    sys.stdin.read()
    c.stop()


if __name__ == "__main__":
    main()
