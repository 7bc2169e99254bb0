"""Telephony's pure core: raw PBX events in, canonical call events out.

Nothing in this package does I/O or imports a framework; the state machine
(:mod:`.calls`) is a set of functions over the plain data in :mod:`.model`, and number
normalisation lives in :mod:`.numbers`.
"""
