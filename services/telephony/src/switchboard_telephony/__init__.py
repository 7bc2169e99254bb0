"""Telephony: turns whatever the clinic's PBX sends into clean, canonical call events."""
