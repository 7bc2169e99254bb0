from switchboard_notify.adapters.tables import metadata
from switchboard_runtime.db import run_migrations_env

run_migrations_env(metadata)
