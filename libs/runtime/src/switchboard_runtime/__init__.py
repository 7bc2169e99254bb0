"""Switchboard's shared runtime: settings, logging, Kafka, database, outbox,
idempotent consumption, dead letters, retries, auth and health — written once, used by
every service."""
