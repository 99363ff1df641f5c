"""Every source perfkit cites is in the project (docs/references.md), not in a file users do
not have."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CITING = [*ROOT.glob("src/perfkit/**/*.py"), *ROOT.glob("docs/*.md"), ROOT / "README.md",
          *ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("parameters/*.yaml")]


def test_no_citation_points_outside_the_project():
    for path in CITING:
        text = path.read_text(encoding="utf-8")
        assert "metrics.md" not in text and "metrics reference" not in text, path


def test_every_cited_key_is_in_the_references():
    refs = (ROOT / "docs" / "references.md").read_text(encoding="utf-8")
    defined = set(re.findall(r"^- \*\*\[([A-Za-z0-9]+)\]\*\*", refs, flags=re.M))
    assert len(defined) >= 30
    cited = set()
    for path in CITING:
        for block in re.findall(r"references\.md[^\n]*(?:\n[^\n]*)?",
                                path.read_text(encoding="utf-8")):
            cited |= set(re.findall(r"\[([A-Z][A-Za-z0-9]+)\]", block))
    cited |= set(re.findall(r"\[([A-Z][A-Za-z0-9]+)\]", refs.split("## Choices")[1]))
    assert cited, "no citations found: the pattern is wrong"
    assert cited <= defined, sorted(cited - defined)
