"""A local stand-in for an SMS gateway: keeps every SMS instead of sending it.

It speaks both shapes booking can use (services/booking/README.md, "Notifications"):

* the generic JSON webhook, ``POST /sms`` with ``{"to", "text", "idempotency_key"}``,
  ``Authorization: Bearer <token>`` and ``Idempotency-Key``: a repeated key is the same
  message (answered with the first id, stored once);
* Twilio's Messages API, ``POST /2010-04-01/Accounts/<sid>/Messages.json`` (form fields
  ``To``, ``Body``, ``From`` or ``MessagingServiceSid``; HTTP Basic sid:token), answering
  ``201`` with a ``sid`` like Twilio; like Twilio, it has no idempotency key.

``GET /messages`` lists what it received; each SMS is also a JSON line in ``--out``::

    uv run python scripts/standins/sms_gateway.py --port 8025 --out .cache/run/sms.jsonl \
        --token dev-sms-token --twilio AC0000:dev-twilio-token
"""

from __future__ import annotations

import argparse
import base64
import json
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


def build_app(out: Path, token: str | None, twilio: tuple[str, str] | None) -> FastAPI:
    """The stand-in's HTTP app."""
    app = FastAPI(title="SMS gateway stand-in")
    messages: list[dict[str, Any]] = []
    by_key: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()
    out.parent.mkdir(parents=True, exist_ok=True)

    def keep(record: dict[str, Any]) -> dict[str, Any]:
        with lock:
            record["id"] = f"sms-{len(messages) + 1}"
            messages.append(record)
            with out.open("a", encoding="utf-8") as lines:
                lines.write(json.dumps(record, ensure_ascii=False) + "\n")
        print(f"SMS ({record['api']}) to {record['to']}: {record['text']}", flush=True)
        return record

    @app.post("/sms")
    async def webhook(request: Request) -> JSONResponse:
        if token and request.headers.get("authorization") != f"Bearer {token}":
            return JSONResponse({"error": "bad token"}, status_code=401)
        body = await request.json()
        key = request.headers.get("idempotency-key") or body.get("idempotency_key") or ""
        if not body.get("to") or not body.get("text"):
            return JSONResponse({"error": "to and text are required"}, status_code=400)
        with lock:
            seen = by_key.get(key) if key else None
        if seen is not None:
            return JSONResponse({"id": seen["id"], "duplicate": True})
        record = keep({"api": "webhook", "to": body["to"], "text": body["text"], "key": key})
        if key:
            with lock:
                by_key[key] = record
        return JSONResponse({"id": record["id"]})

    @app.post("/2010-04-01/Accounts/{account_sid}/Messages.json")
    async def twilio_messages(account_sid: str, request: Request) -> JSONResponse:
        if twilio is not None:
            expected = base64.b64encode(f"{twilio[0]}:{twilio[1]}".encode()).decode()
            given = request.headers.get("authorization")
            if account_sid != twilio[0] or given != f"Basic {expected}":
                return JSONResponse(
                    {"code": 20003, "message": "Authenticate", "status": 401}, status_code=401
                )
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if not form.get("To", "").startswith("+"):
            return JSONResponse(
                {"code": 21211, "message": "The 'To' number is not valid.", "status": 400},
                status_code=400,
            )
        record = keep({"api": "twilio", "to": form["To"], "text": form.get("Body", ""), "key": ""})
        sid = f"SM{record['id'].removeprefix('sms-'):0>32}"
        return JSONResponse(
            {"sid": sid, "status": "queued", "to": form["To"], "body": form.get("Body", "")},
            status_code=201,
        )

    @app.get("/messages")
    async def list_messages() -> dict[str, Any]:
        with lock:
            return {"items": list(messages)}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main(argv: list[str] | None = None) -> None:
    """Serve until stopped."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--out", type=Path, required=True, help="JSON lines of what was sent")
    parser.add_argument("--token", default=None, help="bearer token the webhook requires")
    parser.add_argument("--twilio", default=None, help="ACCOUNT_SID:AUTH_TOKEN to require")
    args = parser.parse_args(argv)
    twilio = tuple(args.twilio.split(":", 1)) if args.twilio else None
    app = build_app(args.out, args.token, twilio)  # type: ignore[arg-type]
    print(f"SMS gateway stand-in on http://{args.host}:{args.port}, SMS in {args.out}", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
