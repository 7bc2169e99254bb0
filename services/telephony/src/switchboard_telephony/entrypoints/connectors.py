"""The socket connectors' commands: ``switchboard-telephony ami`` and ``... freeswitch``.

Each logs in to a PBX's event stream, translates what it reads into events of the generic
format and publishes them to this deployment's ``pbx.events.raw`` with the runtime's broker
(acks from all in-sync replicas awaited before the next message is read). Secrets are read
from an environment variable named on the command line, never from the command line itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, tzinfo
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import SecretStr

from switchboard_contracts import PBX_EVENTS_RAW
from switchboard_runtime.kafka import ensure_topics, make_broker
from switchboard_runtime.logging import configure_logging
from switchboard_telephony.adapters.ami import AmiConnector, AmiEndpoint
from switchboard_telephony.adapters.ami_translate import AmiTranslator
from switchboard_telephony.adapters.pbx.connector import KafkaRawPublisher, PbxSocketConnector
from switchboard_telephony.adapters.pbx.esl import EslConnector, EslEndpoint
from switchboard_telephony.adapters.pbx.freeswitch import FreeswitchTranslator
from switchboard_telephony.settings import TelephonySettings

__all__ = [
    "ami_connector",
    "configure_ami",
    "configure_freeswitch",
    "freeswitch_connector",
    "run_ami",
    "run_freeswitch",
]


C = TypeVar("C", bound=PbxSocketConnector[Any])


def _secret(variable: str, what: str) -> SecretStr:
    value = os.environ.get(variable)
    if not value:
        raise SystemExit(f"the {what} is not set: export {variable}=...")
    return SecretStr(value)


def _common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--call-id-prefix",
        default="",
        help="prepended to every call id (give each PBX its own when several feed one chain)",
    )
    parser.add_argument("--ping-interval", type=float, default=20.0, help="seconds (default 20)")


def _run(make: Callable[[TelephonySettings], Any], service: str) -> None:
    """Run the connector ``make(settings)`` yields until SIGTERM/SIGINT."""
    settings = TelephonySettings()
    configure_logging(service, level=settings.log_level, json=settings.log_json)

    async def main() -> None:
        async with make(settings) as (connector, task):
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, connector.stop)
            await task

    asyncio.run(main())


@asynccontextmanager
async def _running(
    settings: TelephonySettings,
    build: Callable[[KafkaRawPublisher], C],
    log_event: str,
) -> AsyncIterator[tuple[C, asyncio.Task[None]]]:
    topic = settings.topic(PBX_EVENTS_RAW)
    await ensure_topics(settings, [topic])
    broker = make_broker(settings)
    await broker.start()
    connector = build(KafkaRawPublisher(broker, topic, log_event=log_event))
    task = asyncio.create_task(connector.run(), name=f"{connector.protocol}-connector")
    try:
        yield connector, task
    finally:
        connector.stop()
        with contextlib.suppress(Exception):
            await task
        await broker.stop()


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
        "--events", default="call,cdr", help="AMI event classes to ask for (default call,cdr)"
    )
    parser.add_argument(
        "--pbx-time-zone",
        default="UTC",
        help="time zone of the PBX clock, for Cdr times (default UTC)",
    )
    _common_arguments(parser)


def run_ami(args: argparse.Namespace) -> None:
    """``switchboard-telephony ami``: run the connector until SIGTERM/SIGINT."""
    secret = _secret(args.secret_env, "AMI secret")
    try:
        zone: tzinfo = ZoneInfo(args.pbx_time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SystemExit(f"unknown time zone {args.pbx_time_zone!r}") from exc
    endpoint = AmiEndpoint(args.host, args.port, args.username, secret)
    _run(
        lambda settings: ami_connector(
            settings,
            endpoint,
            call_id_prefix=args.call_id_prefix,
            events=args.events,
            pbx_time_zone=zone,
            ping_interval=args.ping_interval,
        ),
        "telephony-ami",
    )


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

    def build(publish: KafkaRawPublisher) -> AmiConnector:
        return AmiConnector(
            endpoint,
            publish,
            translator=AmiTranslator(call_id_prefix=call_id_prefix, pbx_time_zone=pbx_time_zone),
            events=events,
            ping_interval=ping_interval,
            backoff_initial=backoff_initial,
        )

    async with _running(settings, build, "ami.publish_retry") as running:
        yield running


# --- freeswitch -----------------------------------------------------------------------------


def configure_freeswitch(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``switchboard-telephony freeswitch``."""
    parser.description = (
        "Connect to a FreeSWITCH Event Socket (mod_event_socket, inbound mode) and publish "
        "its calls to pbx.events.raw. The password is read from an environment variable."
    )
    parser.add_argument("--host", default="127.0.0.1", help="Event Socket host")
    parser.add_argument("--port", type=int, default=8021, help="Event Socket port (default 8021)")
    parser.add_argument(
        "--password-env",
        default="ESL_PASSWORD",
        metavar="VAR",
        help="environment variable holding event_socket.conf's password (default ESL_PASSWORD)",
    )
    _common_arguments(parser)


def run_freeswitch(args: argparse.Namespace) -> None:
    """``switchboard-telephony freeswitch``: run the connector until SIGTERM/SIGINT."""
    endpoint = EslEndpoint(args.host, args.port, _secret(args.password_env, "ESL password"))
    _run(
        lambda settings: freeswitch_connector(
            settings,
            endpoint,
            call_id_prefix=args.call_id_prefix,
            ping_interval=args.ping_interval,
        ),
        "telephony-freeswitch",
    )


@asynccontextmanager
async def freeswitch_connector(
    settings: TelephonySettings,
    endpoint: EslEndpoint,
    *,
    call_id_prefix: str = "",
    ping_interval: float = 20.0,
    backoff_initial: float = 0.5,
) -> AsyncIterator[tuple[EslConnector, asyncio.Task[None]]]:
    """A running Event Socket connector publishing to this deployment's raw topic (the
    ``freeswitch`` command, the simulator and the tests run this one path)."""

    def build(publish: KafkaRawPublisher) -> EslConnector:
        return EslConnector(
            endpoint,
            publish,
            translator=FreeswitchTranslator(call_id_prefix=call_id_prefix),
            ping_interval=ping_interval,
            backoff_initial=backoff_initial,
        )

    async with _running(settings, build, "esl.publish_retry") as running:
        yield running
