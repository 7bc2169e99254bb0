"""What every telephony test may import: the fakes beside the tests (no test folder is a
package under pytest's importlib mode), e.g. ``import ami_server as fake_ami``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "fakes"))
