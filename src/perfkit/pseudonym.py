"""Keyed pseudonyms for client ids.

An EHR's client id is often a medical record number, so it must not reach any output. Ingest
replaces every client id with ``HMAC-SHA256(key, id)`` (Python's standard ``hmac``), shortened
to 12 hex digits and prefixed ``cl-``. The key is 32 random bytes kept as 64 hex digits in a
local file that is created on first use with owner-only permissions and never committed: the
same key gives the same pseudonym in every monthly run, and without the key a pseudonym cannot
be traced back.

Each run records the key's *fingerprint* (a hash of the key, never the key): a run whose key
differs from the one earlier runs in the same reports folder used stops, because its
pseudonyms would not match theirs (``perfkit.pipeline.check_key``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .config import ConfigError

__all__ = ["PseudonymKey", "load_key", "pseudonym_map", "fingerprint"]

log = logging.getLogger(__name__)

PREFIX = "cl-"
DIGITS = 12
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


def fingerprint(key: bytes) -> str:
    """A short public name for a key: SHA-256 of a fixed label and the key, 16 hex digits.
    It tells two keys apart and says nothing about the key or any pseudonym."""
    return hashlib.sha256(b"perfkit pseudonym key fingerprint\x00" + key).hexdigest()[:16]


@dataclass(frozen=True)
class PseudonymKey:
    """A pseudonym key, where it lives, and whether this call created it."""

    key: bytes
    path: Path
    created: bool = False

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.key)

    def __repr__(self) -> str:  # never print the key itself
        return f"PseudonymKey(path={str(self.path)!r}, fingerprint={self.fingerprint!r})"


def load_key(path: str | os.PathLike, *, create: bool = True) -> PseudonymKey:
    """Read the pseudonym key file, creating it (mode 0600) when it does not exist and
    ``create`` is true.

    The file must hold exactly 64 hex digits (32 bytes); anything else is a
    :class:`ConfigError` in one sentence, never a traceback. A key file that other users can
    read gets a warning.
    """
    path = Path(path)
    try:
        if path.is_dir():
            raise ConfigError(f"pseudonym key {path} is a folder, not a key file: set "
                              "pseudonym_key_file to a file path")
        if path.exists():
            return PseudonymKey(_read_key(path), path, created=False)
        if not create:
            raise ConfigError(f"pseudonym key file {path} does not exist")
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = secrets.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(key.hex() + "\n")
        return PseudonymKey(key, path, created=True)
    except ConfigError:
        raise
    except OSError as exc:
        raise ConfigError(f"pseudonym key {path} cannot be read or created "
                          f"({exc.strerror or type(exc).__name__}): check the path and its "
                          "permissions") from None


def _read_key(path: Path) -> bytes:
    raw = path.read_bytes()
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        text = ""
    if not _HEX64.fullmatch(text):
        raise ConfigError(f"pseudonym key file {path} is damaged: it must hold exactly 64 hex "
                          "digits. Restore it from a backup; a new key changes every client "
                          "pseudonym.")
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("pseudonym key file %s can be read by other users of this machine; "
                    "restrict it with: chmod 600 %s", path, path)
    return bytes.fromhex(text)


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
