"""The error for a file that cannot be used at all."""

from __future__ import annotations


class IngestError(Exception):
    """A file that cannot be used at all. The message is one sentence for a practice manager."""
