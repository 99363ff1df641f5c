"""Notebook runs (pytest --nbval-lax) use a fresh perfkit cache, so a demo run left by an older
version of the code is never reused. The kernels inherit the environment. Here, not in tests/,
so that the notebooks' cells are grouped too."""

import os
import tempfile

import pytest


def pytest_configure(config):
    os.environ["PERFKIT_CACHE"] = tempfile.mkdtemp(prefix="perfkit-nbval-cache-")


# `make test` runs the suite in two processes (pytest-xdist, ``--dist loadfile``). A module's
# tests share its module-scoped fixtures (a demo practice, a rendered run) and a notebook's cells
# share one kernel, so each file goes to one process, whole, and its fixtures are built once.
# The files named here hold independent tests with a cheap fixture (the sparse variants, each a
# whole run): their tests are dealt out one by one to whichever process is free, after the files.
SPREAD = ("tests/test_sparse.py",)


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: used only when xdist runs the suite
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class FilesWholeSomeSpread(LoadScopeScheduling):
        """xdist's loadfile (one unit of work per file), except the files of ``SPREAD``,
        whose every test is its own unit. (xdist's loadgroup would do this with marks, but it
        marks a test by changing ``item._nodeid``, which pytest 9 no longer reads.)"""

        def _split_scope(self, nodeid: str) -> str:
            file = nodeid.split("::", 1)[0]
            return nodeid if file in SPREAD else file

    return FilesWholeSomeSpread(config, log)
