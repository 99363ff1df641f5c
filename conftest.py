"""Notebook runs (pytest --nbval-lax) use a fresh perfkit cache, so a demo run left by an older
version of the code is never reused. The kernels inherit the environment."""

import os
import tempfile


def pytest_configure(config):
    os.environ["PERFKIT_CACHE"] = tempfile.mkdtemp(prefix="perfkit-nbval-cache-")
