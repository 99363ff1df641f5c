"""Keyed pseudonyms for client ids.

An EHR's client id is often a medical record number, so it must not reach any output. Ingest
replaces every client id with ``HMAC-SHA256(key, id)`` (Python's standard ``hmac``), shortened
to 12 hex digits and prefixed ``cl-``. The key is 32 random bytes kept in a local file that is
created on first use with owner-only permissions and never committed: the same key gives the
same pseudonym in every monthly run, and without the key a pseudonym cannot be traced back.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import pandas as pd

from .config import ConfigError

__all__ = ["load_or_create_key", "pseudonym_map"]

PREFIX = "cl-"
DIGITS = 12


def load_or_create_key(path: str | os.PathLike) -> bytes:
    """Read the pseudonym key, creating the file (mode 0600) when it does not exist yet."""
    path = Path(path)
    if path.exists():
        text = path.read_text(encoding="ascii").strip()
        try:
            key = bytes.fromhex(text)
        except ValueError:
            raise ConfigError(f"pseudonym key file {path} is damaged: it should hold 64 hex "
                             "digits. Restore it from backup; a new key changes every "
                             "client pseudonym.") from None
        if len(key) < 16:
            raise ConfigError(f"pseudonym key file {path} holds too short a key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key.hex() + "\n")
    return key


def pseudonym_map(ids: pd.Series, key: bytes) -> tuple[dict[str, str], set[str]]:
    """Pseudonyms for the distinct ids: ``{raw id: pseudonym}``, and the raw ids whose
    pseudonym collides with another id's (practically never at 48 bits, but checked rather
    than assumed)."""
    uniques = pd.unique(ids.dropna().to_numpy(dtype=object))
    mapping = {
        raw: PREFIX + hmac.new(key, str(raw).encode("utf-8"), hashlib.sha256).hexdigest()[:DIGITS]
        for raw in uniques
    }
    seen: dict[str, str] = {}
    collided: set[str] = set()
    for raw, pseud in mapping.items():
        if pseud in seen:
            collided.update({raw, seen[pseud]})
        seen[pseud] = raw
    return mapping, collided
