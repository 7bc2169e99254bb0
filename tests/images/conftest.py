"""The image tests' helpers sit beside this file (pytest runs with --import-mode=importlib)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
# free_port and the console bundle's build, shared with the browser tests.
sys.path.insert(0, str(HERE.parent / "e2e"))
