"""``switchboard-contracts``: export the schemas, or check them against a released snapshot.

::

    switchboard-contracts export --out DIR       # DIR/schemas/*.json, DIR/asyncapi.{json,yaml}
    switchboard-contracts check --snapshot DIR   # exit 1 listing incompatibilities
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from switchboard_contracts.compat import compare_snapshot, new_since_snapshot
from switchboard_contracts.export import export

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="switchboard-contracts",
        description="Export Switchboard's event schemas, or check them against a snapshot.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    export_cmd = commands.add_parser(
        "export", help="write JSON Schemas and the AsyncAPI document to a directory"
    )
    export_cmd.add_argument("--out", type=Path, required=True, help="directory to write to")
    check_cmd = commands.add_parser(
        "check", help="fail if a current schema is incompatible with a released snapshot"
    )
    check_cmd.add_argument(
        "--snapshot", type=Path, required=True, help="a directory written by 'export'"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code (0 ok, 1 incompatible, 2 usage)."""
    args = _parser().parse_args(argv)
    if args.command == "export":
        written = export(args.out)
        print(f"wrote {len(written)} files to {args.out}")
        return 0
    try:
        problems = compare_snapshot(args.snapshot)
        notes = new_since_snapshot(args.snapshot)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for note in notes:
        print(f"new: {note}")
    if problems:
        print(f"{len(problems)} incompatible change(s) against {args.snapshot}:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        print(
            "Make the change backward compatible (add optional fields), or raise the event's "
            "schema_version.",
            file=sys.stderr,
        )
        return 1
    print(f"compatible with {args.snapshot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
