"""The analytics database's one SQLAlchemy metadata (the platform's naming convention and
``processed_events``), shared by :mod:`.tables` and :mod:`.rollup_tables`."""

from switchboard_runtime.db import make_metadata

metadata = make_metadata()
