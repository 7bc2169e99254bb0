"""A local SMTP server that keeps every email it is sent instead of delivering it.

`make run` starts it so that booking's notification emails can be read, and the
integration tests start it as the real SMTP server process they send to::

    uv run python scripts/standins/smtp_catcher.py --port 1025 --out .cache/run/mail
    uv run python scripts/standins/smtp_catcher.py --port 1587 --out DIR \
        --starttls CERT.pem KEY.pem --login user:password

Each email is written to ``OUT/<n>-<message-id>.eml`` and summarised as one JSON line in
``OUT/messages.jsonl`` (to, from, subject, message_id, body, list_unsubscribe), and a line
is printed. With ``--starttls`` the server offers STARTTLS; with ``--login`` it requires
AUTH LOGIN/PLAIN with those credentials (over TLS only).
"""

from __future__ import annotations

import argparse
import json
import signal
import ssl
import sys
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Catcher:
    """aiosmtpd handler: keeps each message on disk."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.out.mkdir(parents=True, exist_ok=True)
        self.count = len(list(out.glob("*.eml")))
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw: bytes = envelope.original_content or envelope.content
        email = message_from_bytes(raw, policy=policy.default)
        assert isinstance(email, EmailMessage)
        part = email.get_body(preferencelist=("plain",))
        body = part.get_content() if part is not None else ""
        with self.lock:
            self.count += 1
            number = self.count
            message_id = str(email.get("Message-ID", "")).strip("<>")
            name = f"{number:05d}-{message_id.split('@')[0][:40] or 'message'}.eml"
            (self.out / name).write_bytes(raw)
            record = {
                "file": name,
                "mail_from": envelope.mail_from,
                "rcpt_tos": envelope.rcpt_tos,
                "from": str(email.get("From", "")),
                "to": str(email.get("To", "")),
                "subject": str(email.get("Subject", "")),
                "message_id": message_id,
                "list_unsubscribe": str(email.get("List-Unsubscribe", "")),
                "body": body,
            }
            with (self.out / "messages.jsonl").open("a", encoding="utf-8") as lines:
                lines.write(json.dumps(record, ensure_ascii=False) + "\n")
        print(f"email to {', '.join(envelope.rcpt_tos)}: {record['subject']}", flush=True)
        return "250 Message accepted for delivery"


def _authenticator(user: str, password: str) -> Any:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == user
            and data.password.decode() == password
        )
        return AuthResult(success=ok, handled=False)

    return check


def main(argv: list[str] | None = None) -> None:
    """Serve until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--out", type=Path, required=True, help="where the emails are kept")
    parser.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"), default=None)
    parser.add_argument("--login", default=None, help="USER:PASSWORD to require")
    args = parser.parse_args(argv)

    options: dict[str, Any] = {}
    if args.starttls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*args.starttls)
        options.update(tls_context=context, require_starttls=True)
    if args.login:
        user, _, password = args.login.partition(":")
        options.update(authenticator=_authenticator(user, password), auth_required=True)
    controller = Controller(Catcher(args.out), hostname=args.host, port=args.port, **options)
    controller.start()
    print(f"SMTP catcher on {args.host}:{args.port}, emails in {args.out}", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    controller.stop()


if __name__ == "__main__":
    sys.exit(main())
