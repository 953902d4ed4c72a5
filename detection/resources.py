"""Files the package ships: JSON Schemas and data, found the same way installed or in a checkout."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parent


def schema_path(name: str) -> Path:
    """Path of a shipped JSON Schema (``schemas/`` in a checkout, ``detection/_schemas`` installed)."""
    for base in (_PACKAGE / "_schemas", _PACKAGE.parent / "schemas"):
        candidate = base / name
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"schema {name!r} is missing from the detection package")


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    with schema_path(name).open(encoding="utf-8") as handle:
        return json.load(handle)


def data_path(name: str) -> Path:
    """Path of a shipped data file under ``detection/data``."""
    return _PACKAGE / "data" / name
