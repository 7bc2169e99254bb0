from switchboard_runtime.db import run_migrations_env
from switchboard_telephony.adapters.tables import metadata

run_migrations_env(metadata)
