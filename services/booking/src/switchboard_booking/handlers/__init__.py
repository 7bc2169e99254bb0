"""Booking's handlers, one module per area: ``auth``, ``clients`` (with merging),
``appointments``, ``directory``, ``templates``; what they share is in ``shared``.

Every handler there runs a command from the API (or the seed). Booking consumes one thing:
its own appointment events, to plan the notifications they call for (``notifications``,
the subscription below); ``delivery`` sends them.
"""

from switchboard_booking.handlers.notifications import SUBSCRIPTION as NOTIFICATIONS

#: Every consumer group of booking (read by the runtime, the docs and the deploy tests).
SUBSCRIPTIONS = (NOTIFICATIONS,)
