"""Telephony's pure core: raw PBX events in, canonical call events out.

Nothing in this package does I/O or imports a framework; the state machine
(:mod:`.calls`) is a set of functions over plain data: raw events (:mod:`.pbx_events`), the
configuration (:mod:`.config`, whose :class:`~.config.Directory` reads numbers with the
platform's phone library) and each call's stored state (:mod:`.call_state`).
"""
