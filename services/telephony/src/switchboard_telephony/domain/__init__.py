"""Telephony's pure core: raw PBX events in, canonical call events out.

Nothing in this package does I/O or imports a framework; the state machine
(:mod:`.calls`) is a set of functions over the plain data in :mod:`.model`, whose
:class:`~.model.Directory` reads numbers with the platform's phone library.
"""
