"""Secrets stored in a database, encrypted (AES-256-GCM) with keys from the settings.

A stored value reads ``sb1:<key id>:<base64(nonce + ciphertext + tag)>``. The key id lets
keys rotate: new values are sealed with the current key, values sealed with an older key
still open while that key is configured, and a service's rotation command re-seals them
(:meth:`SecretBox.needs_reseal`). Each value is bound to where it is stored (``context``,
e.g. ``"integration_settings.token:callmarker"``): a ciphertext copied to another row does
not open. Keys come from a setting such as ``TELEPHONY_SECRET_KEYS``:
``<id>:<base64 of 32 bytes>[,<id>:<key>…]``, the first being the current one.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_PREFIX = "sb1"


class SecretBoxError(Exception):
    """A stored secret cannot be opened (unknown key id, tampered or not ours)."""


def parse_keys(text: str) -> dict[str, bytes]:
    """``id:base64key,…`` → ``{id: key}`` in order; raises ``ValueError`` saying what is wrong."""
    keys: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key_id, sep, encoded = item.partition(":")
        if not sep or not key_id or not key_id.isalnum():
            raise ValueError("each key is <id>:<base64 key>, the id letters and digits")
        try:
            key = base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise ValueError(f"key {key_id!r} is not base64") from exc
        if len(key) != 32:
            raise ValueError(f"key {key_id!r} must be 32 bytes (AES-256), not {len(key)}")
        keys[key_id] = key
    if not keys:
        raise ValueError("at least one key is needed")
    return keys


def new_key() -> str:
    """A fresh random key, base64 (what to put after ``<id>:``)."""
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()


class SecretBox:
    """Seals and opens stored secrets; ``keys`` in order, the first the current one."""

    def __init__(self, keys: dict[str, bytes]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        self._keys = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.current_key_id = next(iter(keys))

    @classmethod
    def from_setting(cls, text: str) -> SecretBox:
        """The box of a keys setting (``id:base64key,…``)."""
        return cls(parse_keys(text))

    def seal(self, plaintext: str, context: str) -> str:
        """``plaintext`` encrypted with the current key, bound to ``context``."""
        nonce = os.urandom(12)
        sealed = self._keys[self.current_key_id].encrypt(
            nonce, plaintext.encode(), context.encode()
        )
        body = base64.b64encode(nonce + sealed).decode()
        return f"{_PREFIX}:{self.current_key_id}:{body}"

    def open(self, stored: str, context: str) -> str:
        """The plaintext of a value made by :meth:`seal` for ``context``."""
        prefix, key_id, body = _split(stored)
        if prefix != _PREFIX or key_id not in self._keys:
            raise SecretBoxError(f"no key {key_id!r} configured for this secret")
        try:
            raw = base64.b64decode(body, validate=True)
            plain = self._keys[key_id].decrypt(raw[:12], raw[12:], context.encode())
        except (binascii.Error, InvalidTag, ValueError) as exc:
            raise SecretBoxError("the secret does not open: tampered or stored elsewhere") from exc
        return plain.decode()

    @staticmethod
    def is_sealed(stored: str) -> bool:
        """Whether ``stored`` looks sealed (older releases stored plaintext)."""
        return stored.startswith(f"{_PREFIX}:")

    def needs_reseal(self, stored: str) -> bool:
        """Whether ``stored`` is plaintext or sealed with another key than the current one."""
        if not self.is_sealed(stored):
            return True
        return _split(stored)[1] != self.current_key_id


def _split(stored: str) -> tuple[str, str, str]:
    parts = stored.split(":", 2)
    if len(parts) != 3:
        raise SecretBoxError("not a sealed secret")
    return parts[0], parts[1], parts[2]


__all__ = ["SecretBox", "SecretBoxError", "new_key", "parse_keys"]
