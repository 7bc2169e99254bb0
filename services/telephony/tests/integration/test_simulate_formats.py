"""``simulate --format``: the simulator drives telephony as FreeSWITCH, Mango and Twilio.

A small simulated day is said in each format and played through the same senders the
``simulate`` command uses — the stand-in Event Socket read by the FreeSWITCH connector
(real Kafka), and the signed Mango and Twilio webhooks (in-process HTTP) — into one
telephony; every call must end as it happened.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

ENV = {
    "TELEPHONY_MANGO_API_KEY": "sim-vpbx-key",
    "TELEPHONY_MANGO_API_SALT": "sim-vpbx-salt",
    "TELEPHONY_TWILIO_AUTH_TOKEN": "sim-twilio-token",
    # A simulated day's calls are spread over today: its signed times are hours from now.
    "TELEPHONY_CLOUD_PBX_REPLAY_WINDOW_SECONDS": "172800",
}


async def test_the_simulator_speaks_each_pbx_format(
    start_telephony: Any,
    topic_reader: Any,
    helpers: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from switchboard_telephony.entrypoints.pbx_commands import play
    from switchboard_telephony.entrypoints.simulate_native import (
        esl_sender,
        native_webhook_sender,
    )
    from switchboard_telephony.simulator import simulate_day
    from switchboard_telephony.simulator_day import SimulationConfig
    from switchboard_telephony.simulator_formats import native_call_id, native_day

    tag = helpers.unique_tag("simfmt")
    today = datetime.now(UTC).date()
    async with start_telephony(tag, **ENV) as t:
        response = await t.client.post(
            "/api/telephony/dids",
            json={"did": "+74951230101", "clinic_id": "clinic-msk-arbat"},
            headers=t.auth("admin"),
        )
        assert response.status_code == 201, response.text
        calls = await topic_reader(t.logical("telephony.calls"))
        # The senders' HTTP client talks to this telephony in-process.
        real_client = httpx.AsyncClient

        def in_process(**options: Any) -> httpx.AsyncClient:
            return real_client(transport=httpx.ASGITransport(app=t.app), **options)

        monkeypatch.setattr(httpx, "AsyncClient", in_process)
        truth: dict[str, Any] = {}
        for seed, fmt in enumerate(("freeswitch", "mango", "twilio"), start=21):
            day = simulate_day(
                SimulationConfig(day=today, calls=24, seed=seed, call_id_prefix=f"{tag}{fmt}")
            )
            deliveries = native_day(day, fmt)
            if fmt == "freeswitch":
                async with esl_sender(t.settings) as send:
                    report = await play(deliveries, send, speedup=0, batch=50)
            else:
                async with native_webhook_sender("http://service", fmt, t.settings) as send:
                    report = await play(deliveries, send, speedup=0, batch=50)
            assert report.accepted == report.sent == len(deliveries), fmt
            truth.update({native_call_id(fmt, c.call_id): (fmt, c) for c in day.calls})

        def ended(records: list[Any]) -> bool:
            done = {
                r.key.decode() for r in records if json.loads(r.value)["event_type"] == "CallEnded"
            }
            return set(truth) <= done

        await calls.wait_for(ended, timeout=90, message="every simulated call ended")

    by_call = helpers.by_call(calls.records)
    for call_id, (fmt, call) in truth.items():
        end = helpers.one(by_call[call_id], "CallEnded")
        disposition = call.disposition
        if fmt == "twilio" and disposition == "busy":
            disposition = "missed"  # Twilio's parent callback does not say busy
        assert (end["disposition"], end["direction"]) == (disposition, call.kind), (fmt, call)
        assert end["end_reason"] != "timeout"
