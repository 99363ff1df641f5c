"""Import profiles: ready-made column maps for the reports EHRs export.

Each profile is a column-map YAML file in this folder (the same format as
``parameters/column_map.example.yaml``), readable and meant to be copied: ``perfkit validate
--source NAME`` or ``source: NAME`` in the parameters uses one, and a practice's own column map
(``--column-map``) overrides its entries table by table. ``contract`` is the data contract's
own format (no mapping).
"""

from __future__ import annotations

from importlib import resources

import yaml

__all__ = ["PROFILES", "profile_map", "profile_path"]

PROFILES = ("contract", "generic", "simplepractice", "therapynotes")


def profile_path(name: str):
    """The packaged YAML file of a profile (copy it to adapt it)."""
    if name not in PROFILES:
        raise ValueError(f"unknown source {name!r} (known: {', '.join(PROFILES)})")
    return resources.files(__package__) / f"{name}.yaml"


def profile_map(name: str) -> dict:
    """A profile's column map as a mapping of sections (empty for ``contract``)."""
    if name == "contract":
        return {}
    return yaml.safe_load(profile_path(name).read_text(encoding="utf-8")) or {}
