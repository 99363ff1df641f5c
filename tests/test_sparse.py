"""Sparse and odd input end to end: every optional column dropped or left empty, every optional
table absent, every table header-only or wholly rejected, a two-clinician practice. Each runs
through tables, models and reports, and every output is "ok"."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

import perfkit as pk
from perfkit.contract import TABLES
from perfkit.demo import DemoSettings, write_demo
from perfkit.pipeline import run_period

OPTIONAL_TABLES = [name for name, t in TABLES.items() if not t.required] + ["assessments"]
DROPPABLE = [(t.name, c.name) for t in TABLES.values() for c in t.columns if not c.in_file]
BLANKABLE = [(t.name, c.name) for t in TABLES.values() for c in t.columns if not c.required]
# a value that makes every row of a table fail (first required column emptied)
FIRST_REQUIRED = {t.name: next(c.name for c in t.columns if c.required) for t in TABLES.values()}

VARIANTS = ([("drop", t, c) for t, c in DROPPABLE] + [("blank", t, c) for t, c in BLANKABLE]
            + [("absent", t, None) for t in OPTIONAL_TABLES]
            + [("header_only", t, None) for t in TABLES]
            + [("all_rejected", t, None) for t in TABLES])

# Each variant is a whole run on its own copy of the practice: the variants are independent, so
# `make test` deals them out to both of its processes (conftest.py, SPREAD).
pytestmark = pytest.mark.end_to_end


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """Four clinicians over three months: C03 is pre-licensed, supervised by C01."""
    return write_demo(tmp_path_factory.mktemp("sparse") / "data",
                      DemoSettings(n_clinicians=4, months=3))


def _variant(base: Path, dest: Path, kind: str, table: str, column: str | None) -> Path:
    shutil.copytree(base, dest)
    path = dest / f"{table}.csv"
    t = pd.read_csv(path, dtype=str, keep_default_na=False)
    if kind == "drop" and (table, column) == ("notes", "signed_at"):
        # notes need signing times or statuses: the export gives statuses instead
        t["status"] = t["signed_at"].map(lambda v: "LOCKED" if v else "DRAFT")
        t = t.drop(columns=[column])
    elif kind == "drop":
        t = t.drop(columns=[column], errors="ignore")  # the demo may not carry it
    elif kind == "blank":
        t[column] = ""
    elif kind == "absent":
        path.unlink()
        return dest
    elif kind == "header_only":
        t = t.head(0)
    elif kind == "all_rejected":
        t[FIRST_REQUIRED[table]] = ""
    t.to_csv(path, index=False)
    return dest


def _check_run(out: Path, manifest: dict) -> None:
    failed = [o for o in manifest["outputs"] if o["status"] != "ok"]
    assert not failed, failed
    for o in manifest["outputs"]:
        assert (out / o["path"]).is_file(), o["path"]
    q = json.loads((out / "data_quality.json").read_text())
    for e in q["tables"].values():
        if e.get("present"):
            assert e["rows_in"] == e["rows_accepted"] + e["rows_rejected"]
    for page in out.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "Traceback" not in text and not re.search(r"\bnan\b|NaN", _visible(text)), page


def _visible(html: str) -> str:
    html = re.sub(r"<style.*?</style>", "", html, flags=re.S)
    html = re.sub(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=\s]+", "", html)
    return re.sub(r"<[^>]+>", " ", html)


@pytest.mark.parametrize("kind,table,column", VARIANTS,
                         ids=[f"{k}-{t}{'-' + c if c else ''}" for k, t, c in VARIANTS])
def test_every_sparse_variant_runs_end_to_end(base, tmp_path, kind, table, column):
    data = _variant(base, tmp_path / "data", kind, table, column)
    cfg = pk.load_config(pseudonym_key_file=tmp_path / "k.key")
    out = tmp_path / "run"
    if table in ("clinicians", "appointments") and kind in ("header_only", "all_rejected"):
        # nothing runs on a roster or appointments it cannot use: one sentence, no run folder
        said = "has no rows" if kind == "header_only" else "has no usable rows"
        with pytest.raises(pk.IngestError, match=f"{table}.csv {said}.*nothing to run"):
            run_period(data, cfg, out=out, workers=2)
        assert not out.exists()
        return
    # one report worker: the suite runs two variants at a time on the 2-core machine
    manifest = run_period(data, cfg, out=out, workers=1, clinicians=["C01", "C03"])
    _check_run(out, manifest)
    q = json.loads((out / "data_quality.json").read_text())
    if kind == "absent":
        assert q["tables"][table] == {"present": False}
