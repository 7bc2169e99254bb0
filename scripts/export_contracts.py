"""``make schemas``: the event contracts as JSON Schema and AsyncAPI, with every service's
consumer groups (read from their subscription tables) as AsyncAPI ``receive`` operations.

    uv run python scripts/export_contracts.py docs/contracts
"""

from __future__ import annotations

import sys
from pathlib import Path

from switchboard_contracts.export import export
from switchboard_runtime.messaging import platform_consumers


#: The services that consume events (booking only publishes).
def main(out: str) -> None:
    """Write the export into ``out``."""
    written = export(Path(out), platform_consumers())
    print(f"wrote {len(written)} files to {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/contracts")
