"""The code passes the project's ruff configuration, so `nox -s lint` stays green."""

from __future__ import annotations

import shutil
import subprocess
import sys

from .conftest import REPO


def test_ruff_is_clean() -> None:
    ruff = shutil.which("ruff")
    command = [ruff] if ruff else [sys.executable, "-m", "ruff"]
    done = subprocess.run([*command, "check", "--output-format", "concise", "detection", "tests", "benchmarks",
                           "scripts", "noxfile.py"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
