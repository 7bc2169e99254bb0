"""The PBX-side commands of ``switchboard-telephony``: ``ami`` and ``simulate``.

``ami`` runs the Asterisk AMI connector (AMI events in, ``pbx.events.raw`` out);
``simulate`` plays a simulated clinic-chain day into the webhook or the raw topic.
Both publish with the runtime's broker (acks from all in-sync replicas awaited).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import SecretStr

from switchboard_contracts import PBX_EVENTS_RAW
from switchboard_runtime.kafka import ensure_topics, make_broker
from switchboard_runtime.logging import configure_logging, get_logger
from switchboard_runtime.progress import Progress
from switchboard_runtime.retrying import RetryPolicy
from switchboard_telephony.adapters.ami import AmiConnector, AmiEndpoint, KafkaRawPublisher
from switchboard_telephony.adapters.ami_translate import AmiTranslator
from switchboard_telephony.domain.signing import signed_json
from switchboard_telephony.settings import TelephonySettings
from switchboard_telephony.simulator import Delivery, SimulationConfig, simulate_day

log = get_logger(__name__)

SendBatch = Callable[[list[dict[str, Any]]], Awaitable[int]]
"""Sends events; returns how many were accepted."""


# --- ami ------------------------------------------------------------------------------------


def configure_ami(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``switchboard-telephony ami``."""
    parser.description = (
        "Log in to an Asterisk AMI and publish its calls to pbx.events.raw. "
        "The secret is read from an environment variable, never from the command line."
    )
    parser.add_argument("--host", default="127.0.0.1", help="AMI host (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5038, help="AMI port (default 5038)")
    parser.add_argument("--username", required=True, help="the manager.conf user")
    parser.add_argument(
        "--secret-env",
        default="AMI_SECRET",
        metavar="VAR",
        help="environment variable holding the AMI secret (default AMI_SECRET)",
    )
    parser.add_argument(
        "--call-id-prefix",
        default="",
        help="prepended to every call id (give each PBX its own when several feed one chain)",
    )
    parser.add_argument(
        "--events",
        default="call,cdr",
        help="AMI event classes to ask for (default call,cdr)",
    )
    parser.add_argument(
        "--pbx-time-zone",
        default="UTC",
        help="time zone of the PBX clock, for Cdr times (default UTC)",
    )
    parser.add_argument("--ping-interval", type=float, default=20.0, help="seconds (default 20)")


def run_ami(args: argparse.Namespace) -> None:
    """``switchboard-telephony ami``: run the connector until SIGTERM/SIGINT."""
    secret = os.environ.get(args.secret_env)
    if not secret:
        raise SystemExit(f"the AMI secret is not set: export {args.secret_env}=...")
    try:
        zone: tzinfo = ZoneInfo(args.pbx_time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SystemExit(f"unknown time zone {args.pbx_time_zone!r}") from exc
    settings = TelephonySettings()
    configure_logging("telephony-ami", level=settings.log_level, json=settings.log_json)
    endpoint = AmiEndpoint(args.host, args.port, args.username, SecretStr(secret))

    async def main() -> None:
        async with ami_connector(
            settings,
            endpoint,
            call_id_prefix=args.call_id_prefix,
            events=args.events,
            pbx_time_zone=zone,
            ping_interval=args.ping_interval,
        ) as (connector, task):
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, connector.stop)
            await task

    asyncio.run(main())


@asynccontextmanager
async def ami_connector(
    settings: TelephonySettings,
    endpoint: AmiEndpoint,
    *,
    call_id_prefix: str = "",
    events: str = "call,cdr",
    pbx_time_zone: tzinfo = UTC,
    ping_interval: float = 20.0,
    backoff_initial: float = 0.5,
) -> AsyncIterator[tuple[AmiConnector, asyncio.Task[None]]]:
    """A running AMI connector publishing to this deployment's raw topic.

    Yields the connector and the task running it; on exit the connector is stopped and
    the broker closed. Used by the ``ami`` command and by the tests, so both run one path.
    """
    topic = settings.topic(PBX_EVENTS_RAW)
    await ensure_topics(settings.kafka_bootstrap_servers, [topic])
    broker = make_broker(settings)
    await broker.start()
    connector = AmiConnector(
        endpoint,
        KafkaRawPublisher(broker, topic),
        translator=AmiTranslator(call_id_prefix=call_id_prefix, pbx_time_zone=pbx_time_zone),
        events=events,
        ping_interval=ping_interval,
        backoff_initial=backoff_initial,
    )
    task = asyncio.create_task(connector.run(), name="ami-connector")
    try:
        yield connector, task
    finally:
        connector.stop()
        with contextlib.suppress(Exception):
            await task
        await broker.stop()


# --- simulate -------------------------------------------------------------------------------


def configure_simulate(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``switchboard-telephony simulate``."""
    parser.description = (
        "Play a simulated clinic-chain day of PBX events into the webhook (default) "
        "or straight into pbx.events.raw (--to-kafka)."
    )
    parser.add_argument("--url", default="http://127.0.0.1:8001", help="telephony's base URL")
    parser.add_argument(
        "--token",
        default=None,
        help="the PBX integration token (default: TELEPHONY_PBX_TOKEN / the service default)",
    )
    parser.add_argument(
        "--speedup",
        type=float,
        default=60.0,
        help="simulated seconds per real second; 0 = as fast as possible (default 60)",
    )
    parser.add_argument(
        "--day",
        type=date.fromisoformat,
        default=None,
        help="the day to simulate, YYYY-MM-DD (default today)",
    )
    parser.add_argument("--calls", type=int, default=800, help="calls in the day (default 800)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--missed-rate", type=float, default=0.15)
    parser.add_argument("--duplicate-rate", type=float, default=0.03)
    parser.add_argument("--late-rate", type=float, default=0.03)
    parser.add_argument("--call-id-prefix", default="sim")
    parser.add_argument(
        "--batch", type=int, default=200, help="events per request / publish (default 200)"
    )
    parser.add_argument(
        "--to-kafka", action="store_true", help="publish to pbx.events.raw instead of the webhook"
    )


def run_simulate(args: argparse.Namespace) -> None:
    """``switchboard-telephony simulate``: generate the day, play it, print a summary."""
    if args.speedup < 0:
        raise SystemExit("--speedup must be 0 (as fast as possible) or positive")
    if not 1 <= args.batch <= 1000:
        raise SystemExit("--batch must be between 1 and 1000")
    settings = TelephonySettings()
    configure_logging("telephony-simulator", level=settings.log_level, json=settings.log_json)
    try:
        config = SimulationConfig(
            day=args.day or datetime.now(UTC).date(),
            calls=args.calls,
            seed=args.seed,
            missed_rate=args.missed_rate,
            duplicate_rate=args.duplicate_rate,
            late_rate=args.late_rate,
            call_id_prefix=args.call_id_prefix,
        )
    except ValueError as exc:
        raise SystemExit(str(exc)) from exc
    day = simulate_day(config)
    token = SecretStr(args.token) if args.token else settings.pbx_token
    print(
        f"simulated {len(day.calls)} calls on {config.day} → {len(day.deliveries)} events "
        f"({sum(d.duplicate for d in day.deliveries)} duplicates, "
        f"{sum(d.late for d in day.deliveries)} late); speed-up "
        f"{'max' if args.speedup == 0 else args.speedup}",
        flush=True,
    )

    async def main() -> PlaybackReport:
        with Progress("simulate", total=len(day.deliveries), unit="events") as progress:
            if args.to_kafka:
                async with kafka_sender(settings) as send:
                    return await play(
                        day.deliveries, send, speedup=args.speedup, batch=args.batch,
                        progress=progress,
                    )  # fmt: skip
            async with webhook_sender(args.url, token) as send:
                return await play(
                    day.deliveries, send, speedup=args.speedup, batch=args.batch,
                    progress=progress,
                )  # fmt: skip

    try:
        report = asyncio.run(main())
    except WebhookRefused as exc:
        raise SystemExit(str(exc)) from exc
    print(
        f"sent {report.sent} events in {report.requests} sends, {report.accepted} accepted, "
        f"{report.sent - report.accepted} rejected, in {report.seconds:.1f} s",
        flush=True,
    )
    if report.sent != report.accepted:
        sys.exit(1)


@dataclass
class PlaybackReport:
    """What :func:`play` did."""

    sent: int = 0
    accepted: int = 0
    requests: int = 0
    seconds: float = 0.0
    rejected: list[Any] = field(default_factory=list)


async def play(
    deliveries: Sequence[Delivery],
    send: SendBatch,
    *,
    speedup: float,
    batch: int = 200,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    progress: Progress | None = None,
) -> PlaybackReport:
    """Send ``deliveries`` in order; each at its ``send_at`` scaled down by ``speedup``.

    With ``speedup`` 0 everything goes as fast as the receiver takes it, ``batch`` events
    per call of ``send``; otherwise the events due at the same moment go together.
    ``progress`` counts the events sent.
    """
    report = PlaybackReport()
    began = clock()
    if not deliveries:
        return report
    first = deliveries[0].send_at
    index = 0
    while index < len(deliveries):
        if speedup > 0:
            due = (deliveries[index].send_at - first).total_seconds() / speedup
            wait = due - (clock() - began)
            if wait > 0:
                await sleep(wait)
            elapsed_sim = (clock() - began) * speedup
            end = index
            while (
                end < len(deliveries)
                and end - index < batch
                and (deliveries[end].send_at - first).total_seconds() <= elapsed_sim
            ):
                end += 1
            end = max(end, index + 1)
        else:
            end = min(len(deliveries), index + batch)
        events = [d.event for d in deliveries[index:end]]
        report.accepted += await send(events)
        report.sent += len(events)
        report.requests += 1
        if progress is not None:
            progress.advance(len(events))
        index = end
    report.seconds = clock() - began
    return report


class WebhookRefused(RuntimeError):
    """The webhook refused the token or the request (not worth retrying)."""


class WebhookFailing(Exception):
    """The webhook answered 5xx: the service is in trouble, worth another try."""

    def __init__(self, status: int):
        super().__init__(f"HTTP {status}")
        self.status = status


def _log_webhook_retry(exc: BaseException, seconds: float, attempt: int) -> None:
    if isinstance(exc, WebhookFailing):
        log.warning("simulator.webhook_error", status=exc.status, retry_in=round(seconds, 3))
    else:
        log.warning("simulator.webhook_unreachable", error=repr(exc), retry_in=round(seconds, 3))


@asynccontextmanager
async def webhook_sender(
    url: str, token: SecretStr, *, attempts: int = 6
) -> AsyncIterator[SendBatch]:
    """Sends batches to ``POST {url}/api/telephony/pbx/events``, retrying outages.

    Each attempt is signed afresh (a retry after a long outage is not stale). A retried
    batch may be stored twice: harmless, every event carries an ``event_id``.
    """
    import httpx

    # A service restarting (unreachable, 5xx) is waited for: ``attempts`` tries, 0.5 s
    # doubling up to 10 s, about half a minute in all by default.
    retry = RetryPolicy(
        first_delay=0.5,
        max_delay=10.0,
        attempts=attempts,
        retry_on=(httpx.TransportError, WebhookFailing),
    )
    endpoint = url.rstrip("/") + "/api/telephony/pbx/events"
    async with httpx.AsyncClient(timeout=30.0) as client:

        async def send_once(events: list[dict[str, Any]]) -> int:
            body, headers = signed_json(token.get_secret_value(), events)
            response = await client.post(endpoint, content=body, headers=headers)
            if response.status_code == 202:
                return int(response.json().get("accepted", len(events)))
            if response.status_code == 409:
                # The same signed delivery went through on an attempt whose answer was lost:
                # it is stored.
                return len(events)
            if response.status_code == 422:
                answer = response.json()
                log.warning("simulator.events_rejected", rejected=answer.get("rejected"))
                return int(answer.get("accepted", 0))
            if response.status_code < 500:  # 401 token, 413 batch too large: not transient
                raise WebhookRefused(
                    f"the webhook answered {response.status_code}: {response.text[:300]}"
                )
            raise WebhookFailing(response.status_code)

        async def send(events: list[dict[str, Any]]) -> int:
            try:
                return await retry.call(lambda: send_once(events), on_retry=_log_webhook_retry)
            except WebhookFailing as exc:
                raise WebhookRefused(f"the webhook keeps failing: {exc.status}") from exc

        yield send


@asynccontextmanager
async def kafka_sender(settings: TelephonySettings) -> AsyncIterator[SendBatch]:
    """Publishes batches to this deployment's ``pbx.events.raw``, keyed by call id."""
    topic = settings.topic(PBX_EVENTS_RAW)
    await ensure_topics(settings.kafka_bootstrap_servers, [topic])
    broker = make_broker(settings)
    await broker.start()
    publisher = KafkaRawPublisher(broker, topic)
    try:

        async def send(events: list[dict[str, Any]]) -> int:
            await publisher(events)
            return len(events)

        yield send
    finally:
        await broker.stop()
