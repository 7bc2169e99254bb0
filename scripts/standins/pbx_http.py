"""A local stand-in for a PBX's HTTP side: its recording server and its click-to-call URL.

* ``GET /recordings/<name>`` serves the files of ``--recordings`` (HTTP basic auth when
  ``--username``/``--password`` are given) with single byte ranges, as a PBX's web server
  does: ``206`` with ``Content-Range``, ``416`` for a range past the end, ``404`` for no
  such file. ``GET /requests`` lists every recording request (path, ``Range``, status).
* ``POST /originate`` takes telephony's signed click-to-call command
  (``X-Switchboard-Signature``, checked with ``--token``), answers ``202`` (or what
  ``--originate-status`` says), and appends it to ``--out`` as a JSON line; ``GET
  /commands`` lists them.

::

    uv run python scripts/standins/pbx_http.py --port 8026 --recordings rec/ \
        --username pbx --password pbx-secret --token dev-pbx-token --out originate.jsonl
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import threading
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) of a single range; None when it cannot be satisfied."""
    match = _RANGE.match(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":
        start, end = max(0, size - int(last)), size - 1
    else:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    return (start, end) if start <= end and start < size else None


def build_app(
    recordings: Path,
    credentials: tuple[str, str] | None,
    token: str | None,
    out: Path | None,
    originate_status: int = 202,
) -> FastAPI:
    """The stand-in's HTTP app."""
    app = FastAPI(title="PBX HTTP stand-in")
    requests: list[dict[str, Any]] = []
    commands: list[dict[str, Any]] = []
    lock = threading.Lock()

    def allowed(request: Request) -> bool:
        if credentials is None:
            return True
        expected = base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
        return request.headers.get("authorization") == f"Basic {expected}"

    @app.get("/recordings/{name}")
    async def recording(name: str, request: Request) -> Response:
        header = request.headers.get("range")
        record: dict[str, Any] = {"path": f"/recordings/{name}", "range": header}
        if not allowed(request):
            response = Response(status_code=401)
        elif "/" in name or name.startswith("."):
            response = Response(status_code=404)
        else:
            response = _serve(recordings / name, header)
        record["status"] = response.status_code
        with lock:
            requests.append(record)
        return response

    @app.get("/requests")
    async def list_requests() -> JSONResponse:
        with lock:
            return JSONResponse(list(requests))

    @app.post("/originate")
    async def originate(request: Request) -> JSONResponse:
        body = await request.body()
        if token is not None:
            from switchboard_telephony.domain.signing import (
                DeliveryRejected,
                parse_timestamp,
                verify,
            )

            try:
                timestamp = parse_timestamp(request.headers.get("x-switchboard-timestamp"))
                verify(token, timestamp, request.headers.get("x-switchboard-signature"), body)
            except DeliveryRejected as exc:
                return JSONResponse({"error": str(exc)}, status_code=401)
        command = json.loads(body)
        with lock:
            commands.append(command)
            if out is not None:
                out.parent.mkdir(parents=True, exist_ok=True)
                with out.open("a", encoding="utf-8") as lines:
                    lines.write(json.dumps(command) + "\n")
        if originate_status >= 400:
            return JSONResponse({"error": "extension unavailable"}, status_code=originate_status)
        return JSONResponse({"status": "ringing"}, status_code=originate_status)

    @app.get("/commands")
    async def list_commands() -> JSONResponse:
        with lock:
            return JSONResponse(list(commands))

    return app


def _serve(path: Path, header: str | None) -> Response:
    if not path.is_file():
        return Response(status_code=404)
    data = path.read_bytes()
    size = len(data)
    media = "audio/wav" if path.suffix == ".wav" else "application/octet-stream"
    common = {"Accept-Ranges": "bytes"}
    if header is None:
        return Response(data, media_type=media, headers=common)
    chosen = _byte_range(header, size)
    if chosen is None:
        return Response(status_code=416, headers={**common, "Content-Range": f"bytes */{size}"})
    start, end = chosen
    return Response(
        data[start : end + 1],
        status_code=206,
        media_type=media,
        headers={**common, "Content-Range": f"bytes {start}-{end}/{size}"},
    )


def main() -> None:
    """Serve until stopped."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8026)
    parser.add_argument("--recordings", type=Path, required=True)
    parser.add_argument("--username")
    parser.add_argument("--password")
    parser.add_argument("--token", help="the PBX integration token signing click-to-call")
    parser.add_argument("--out", type=Path, help="JSON lines of click-to-call commands")
    parser.add_argument("--originate-status", type=int, default=202)
    args = parser.parse_args()
    credentials = (args.username, args.password) if args.username and args.password else None
    app = build_app(args.recordings, credentials, args.token, args.out, args.originate_status)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
