from switchboard_booking.adapters.tables import metadata
from switchboard_runtime.db import run_migrations_env

run_migrations_env(metadata)
