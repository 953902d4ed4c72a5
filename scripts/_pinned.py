"""What the data generators share: fetch one pinned wheel with pip, hash a file, refuse bad sources.

Imported by ``scripts/gen_*.py`` (which put this folder on ``sys.path`` first, so the import works
however they are run).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path


class GenerationError(RuntimeError):
    """The source data is not what we pinned; never write output in that case."""


def pip_download(requirement: str, dest: Path) -> Path:
    """Fetch one wheel (``name==version``, no dependencies) into ``dest`` with pip; its path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "-q", "-d", str(dest), requirement]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise GenerationError(f"pip download {requirement} failed:\n{done.stderr.strip()}")
    # Wheel file names spell the project name with underscores.
    name = requirement.split("==")[0].replace("-", "_").lower()
    wheels = [p for p in dest.glob("*.whl") if p.name.lower().startswith(name)]
    if len(wheels) != 1:
        raise GenerationError(f"expected one wheel for {requirement} in {dest}, found {wheels}")
    return wheels[0]


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in blocks (wheels and bundles are tens of MB)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
