"""``switchboard-telephony simulate``: a simulated clinic-chain day, played into telephony.

The day is played into the generic webhook (default) or straight into ``pbx.events.raw``
with the runtime's broker (acks from all in-sync replicas awaited); with ``--format`` it is
said the way FreeSWITCH, Mango Office or Twilio would say it, through that PBX's own door
(:mod:`.simulate_native`).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from pydantic import SecretStr

from switchboard_contracts import PBX_EVENTS_RAW
from switchboard_runtime.kafka import ensure_topics, make_broker
from switchboard_runtime.logging import configure_logging, get_logger
from switchboard_runtime.progress import Progress
from switchboard_runtime.retrying import RetryPolicy
from switchboard_telephony.adapters.ami import KafkaRawPublisher
from switchboard_telephony.domain.signing import signed_json
from switchboard_telephony.settings import TelephonySettings
from switchboard_telephony.simulator import simulate_day
from switchboard_telephony.simulator_day import Delivery, SimulationConfig
from switchboard_telephony.simulator_formats import FORMATS, native_day

log = get_logger(__name__)

SendBatch = Callable[[list[dict[str, Any]]], Awaitable[int]]
"""Sends events; returns how many were accepted."""


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
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="generic",
        help="the PBX to speak as: generic (the webhook format), freeswitch (an Event Socket "
        "read by the FreeSWITCH connector), mango or twilio (their signed webhooks)",
    )
    parser.add_argument(
        "--esl-port",
        type=int,
        default=0,
        help="--format freeswitch: the stand-in Event Socket's port (default: any free one)",
    )


def run_simulate(args: argparse.Namespace) -> None:
    """``switchboard-telephony simulate``: generate the day, play it, print a summary."""
    if args.speedup < 0:
        raise SystemExit("--speedup must be 0 (as fast as possible) or positive")
    if not 1 <= args.batch <= 1000:
        raise SystemExit("--batch must be between 1 and 1000")
    if args.to_kafka and args.format != "generic":
        raise SystemExit("--to-kafka plays the generic format; leave out --format")
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

    deliveries = native_day(day, args.format)
    if args.format != "generic":
        print(f"said as {args.format}: {len(deliveries)} messages", flush=True)
    if args.format in ("mango", "twilio"):
        _warn_outside_window(deliveries, settings.cloud_pbx_replay_window_seconds)

    async def main() -> PlaybackReport:
        from switchboard_telephony.entrypoints.simulate_native import (
            esl_sender,
            native_webhook_sender,
        )

        with Progress("simulate", total=len(deliveries), unit="events") as progress:

            def run(send: SendBatch) -> Awaitable[PlaybackReport]:
                return play(
                    deliveries, send, speedup=args.speedup, batch=args.batch, progress=progress
                )

            if args.to_kafka:
                async with kafka_sender(settings) as send:
                    return await run(send)
            if args.format == "freeswitch":
                async with esl_sender(settings, port=args.esl_port) as send:
                    return await run(send)
            if args.format in ("mango", "twilio"):
                async with native_webhook_sender(args.url, args.format, settings) as send:
                    return await run(send)
            async with webhook_sender(args.url, token) as send:
                return await run(send)

    from switchboard_telephony.entrypoints.simulate_native import NativeRefused

    try:
        report = asyncio.run(main())
    except (WebhookRefused, NativeRefused) as exc:
        raise SystemExit(str(exc)) from exc
    print(
        f"sent {report.sent} events in {report.requests} sends, {report.accepted} accepted, "
        f"{report.sent - report.accepted} rejected, in {report.seconds:.1f} s",
        flush=True,
    )
    if report.sent != report.accepted:
        sys.exit(1)


def _warn_outside_window(deliveries: Sequence[Delivery], window: int) -> None:
    """Cloud PBXs sign their events' own times, which telephony checks against its replay
    window: say so before sending a day whose calls are further from now than that."""
    now = datetime.now(UTC)
    outside = sum(abs((d.send_at - now).total_seconds()) > window for d in deliveries)
    if outside:
        print(
            f"warning: {outside} messages carry times more than {window} s from now, which "
            "telephony refuses as stale; give both TELEPHONY_CLOUD_PBX_REPLAY_WINDOW_SECONDS "
            "(make run's demo uses 172800) or simulate a day around now",
            flush=True,
        )


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
    await ensure_topics(settings, [topic])
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
