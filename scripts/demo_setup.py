"""Make the local platform match the PBX simulator's clinic chain, through the public APIs.

``make run`` seeds booking with a demo chain and then plays the simulator's day of calls.
For those calls to land in known clinics, ring known admins and show their names, the
simulator's clinics, admins, public numbers (DIDs) and reception extensions must exist in
booking and telephony. This script creates whatever of them is missing, as the admin
would in the console, and is safe to run again.

    uv run python scripts/demo_setup.py [--booking URL] [--telephony URL]
"""

from __future__ import annotations

import argparse
import sys

import httpx

from switchboard_telephony.simulator_day import DEFAULT_CHAIN

CITY = {"Europe/Moscow": "Moscow", "Asia/Yekaterinburg": "Yekaterinburg"}


def _ensure(client: httpx.Client, url: str, body: dict[str, object]) -> str:
    """POST ``body``; an existing object (409) is fine. Returns what happened."""
    response = client.post(url, json=body)
    if response.status_code == 409:
        return "kept"
    response.raise_for_status()
    return "created"


def main() -> int:
    """Create the simulator's chain in booking and telephony; print a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--booking", default="http://127.0.0.1:8002")
    parser.add_argument("--telephony", default="http://127.0.0.1:8001")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", default="admin")
    args = parser.parse_args()

    with httpx.Client(timeout=30) as client:
        login = client.post(
            f"{args.booking}/api/booking/auth/login",
            json={"username": args.username, "password": args.password},
        )
        login.raise_for_status()
        client.headers["Authorization"] = f"Bearer {login.json()['token']}"

        known_clinics = {
            c["clinic_id"]
            for c in client.get(f"{args.booking}/api/booking/clinics").json()["items"]
        }
        known_operators = {
            o["operator_id"]
            for o in client.get(f"{args.booking}/api/booking/operators").json()["items"]
        }
        created = {"clinics": 0, "operators": 0, "dids": 0, "extensions": 0}
        for clinic in DEFAULT_CHAIN:
            if clinic.clinic_id not in known_clinics:
                client.post(
                    f"{args.booking}/api/booking/clinics",
                    json={
                        "clinic_id": clinic.clinic_id,
                        "name": clinic.name,
                        "city": CITY.get(clinic.time_zone, ""),
                        "time_zone": clinic.time_zone,
                    },
                ).raise_for_status()
                created["clinics"] += 1
            for operator_id in clinic.admins:
                if operator_id in known_operators:
                    continue
                login_name = operator_id.removeprefix("op-")
                client.post(
                    f"{args.booking}/api/booking/operators",
                    json={
                        "operator_id": operator_id,
                        "name": login_name.capitalize(),
                        "username": login_name,
                        "password": login_name,
                        "role": "call_centre",
                        "call_center_id": "cc-central",
                        "extension": clinic.reception,
                    },
                ).raise_for_status()
                known_operators.add(operator_id)
                created["operators"] += 1
            if (
                _ensure(
                    client,
                    f"{args.telephony}/api/telephony/dids",
                    {
                        "did": clinic.did,
                        "clinic_id": clinic.clinic_id,
                        "description": f"{clinic.name} main number",
                    },
                )
                == "created"
            ):
                created["dids"] += 1
            for extension in (clinic.reception, *clinic.extensions):
                if (
                    _ensure(
                        client,
                        f"{args.telephony}/api/telephony/extensions",
                        {"extension": extension, "clinic_id": clinic.clinic_id},
                    )
                    == "created"
                ):
                    created["extensions"] += 1
    print("  demo chain ready: " + ", ".join(f"{v} {k} created" for k, v in created.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
