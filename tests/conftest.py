"""Shared test helpers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SEED_RULE = REPO / "rules" / "aws" / "privilege_escalation_sts_assumerole_usage.yaml"
SHARED = REPO.parent / "shared"


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """A scratch copy of this repository's rules, fixtures, schemas and pyproject."""
    for name in ("rules", "fixtures", "schemas"):
        if (REPO / name).exists():
            shutil.copytree(REPO / name, tmp_path / name)
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path
