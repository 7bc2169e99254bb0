"""Booking's handlers, one module per area: ``auth``, ``clients`` (with merging),
``appointments`` and ``directory``; what they share is in ``shared``.

Booking consumes no events: every handler here runs a command from the API (or the seed).
"""
