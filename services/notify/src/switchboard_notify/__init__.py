"""Notify: incoming-call pop-ups for every admin on the ringing extension."""
