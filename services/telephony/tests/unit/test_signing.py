"""The webhook signature scheme: what a sender computes and what the receiver refuses."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard_telephony.domain import signing

TOKEN = "unit-pbx-token"
NOW = 1_764_000_000


def test_the_signature_is_hmac_sha256_of_version_timestamp_and_body() -> None:
    body = b'{"type":"call.started"}'
    # Computed here the way the README tells a PBX integrator to.
    expected = hmac.new(TOKEN.encode(), b"v1:1764000000:" + body, hashlib.sha256).hexdigest()
    assert signing.signature(TOKEN, NOW, body) == f"v1={expected}"
    headers = signing.signed_headers(TOKEN, body, timestamp=NOW)
    assert headers == {
        "X-Switchboard-Timestamp": "1764000000",
        "X-Switchboard-Signature": f"v1={expected}",
        "Content-Type": "application/json",
    }
    assert TOKEN not in "".join(headers.values())


def test_a_signed_delivery_verifies_and_its_digest_is_the_replay_key() -> None:
    body, headers = signing.signed_json(TOKEN, [{"call_id": "c-1"}], timestamp=NOW)
    timestamp = signing.parse_timestamp(headers[signing.TIMESTAMP_HEADER])
    verified = signing.verify(TOKEN, timestamp, headers[signing.SIGNATURE_HEADER], body)
    assert verified.timestamp == NOW
    assert headers[signing.SIGNATURE_HEADER] == f"v1={verified.digest}"


@pytest.mark.parametrize(
    ("token", "timestamp", "body"),
    [
        ("another-token", NOW, b"[]"),  # signed with the wrong token
        (TOKEN, NOW + 1, b"[]"),  # timestamp changed after signing
        (TOKEN, NOW, b"[ ]"),  # body changed after signing
    ],
)
def test_anything_changed_after_signing_is_refused(token: str, timestamp: int, body: bytes) -> None:
    given_signature = signing.signature(TOKEN, NOW, b"[]")
    assert signing.signature(token, timestamp, body) != given_signature
    with pytest.raises(signing.DeliveryRejected, match="does not match"):
        signing.verify(token, timestamp, given_signature, body)


@pytest.mark.parametrize("value", [None, "", "abc", "-5", "1.5", "9" * 13])
def test_a_missing_or_malformed_timestamp_is_refused(value: str | None) -> None:
    with pytest.raises(signing.DeliveryRejected):
        signing.parse_timestamp(value)


def test_a_missing_signature_is_refused() -> None:
    with pytest.raises(signing.DeliveryRejected, match="unsigned"):
        signing.verify(TOKEN, NOW, None, b"[]")


@pytest.mark.parametrize(("skew", "fresh"), [(0, True), (300, True), (-300, True), (301, False)])
def test_freshness_is_the_tolerance_either_way(skew: int, fresh: bool) -> None:
    for sign in (1, -1):
        if fresh:
            signing.check_fresh(NOW - sign * skew, now=NOW, tolerance_seconds=300)
        else:
            with pytest.raises(signing.DeliveryRejected, match="stale delivery"):
                signing.check_fresh(NOW - sign * skew, now=NOW, tolerance_seconds=300)


@given(age=st.integers(min_value=-300, max_value=300))
def test_a_delivery_is_remembered_until_its_timestamp_is_stale(age: int) -> None:
    timestamp = NOW - age
    ttl = signing.replay_ttl_seconds(timestamp, now=NOW, tolerance_seconds=300)
    # Still fresh one second before the key expires, stale once it has.
    signing.check_fresh(timestamp, now=NOW + ttl - 2, tolerance_seconds=300)
    with pytest.raises(signing.DeliveryRejected):
        signing.check_fresh(timestamp, now=NOW + ttl, tolerance_seconds=300)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="the README's snippet needs openssl")
def test_the_readme_shell_snippet_signs_like_the_service() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("### Signing a delivery") :]
    snippet = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert snippet is not None
    sig_line = next(line for line in snippet.group(1).splitlines() if line.startswith("SIG="))
    body = '[{"type":"call.started","call_id":"c-1"},\n {"x": "é"}]'
    script = f'{sig_line}\nprintf "%s" "$SIG"'
    env = {"TOKEN": TOKEN, "BODY": body, "TS": str(NOW), "PATH": os.environ["PATH"]}
    done = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert f"v1={done.stdout}" == signing.signature(TOKEN, NOW, body.encode())
