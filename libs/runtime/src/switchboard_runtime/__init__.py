"""Switchboard's shared runtime: settings, logging, Kafka, database, outbox,
idempotent consumption, dead letters, auth and health — written once, used by
every service."""
