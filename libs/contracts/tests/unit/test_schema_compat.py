"""The guard CI runs: every current schema is compatible with the last released snapshot.

If this fails, either make the change backward compatible (add optional fields, widen types)
or raise the event's ``schema_version``; when releasing, re-export the snapshot (see README).
"""

from __future__ import annotations

from pathlib import Path

from switchboard_contracts import EVENT_VERSIONS
from switchboard_contracts.compat import compare_snapshot, new_since_snapshot


def test_current_schemas_are_compatible_with_the_released_snapshot(released_dir: Path) -> None:
    problems = compare_snapshot(released_dir)
    assert problems == [], "incompatible schema changes:\n" + "\n".join(problems)


def test_the_snapshot_covers_events_or_they_are_reported_as_new(released_dir: Path) -> None:
    released = {p.name for p in (released_dir / "schemas").glob("*.v*.json")}
    assert released, "the released snapshot is empty"
    new = new_since_snapshot(released_dir)
    for (event_type, version), _ in EVENT_VERSIONS.items():
        if f"{event_type}.v{version}.json" not in released:
            assert any(note.startswith(f"{event_type} v{version}:") for note in new)
