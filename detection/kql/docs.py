"""Reading values out of event documents the way Elasticsearch indexes them.

A dotted field name may be stored as nested objects (``{"event": {"action": x}}``), as a flat
key (``{"event.action": x}``) or as any mixture; all of them count. Arrays are flattened, and
arrays of objects are flattened too (the ``object`` mapping), so a clause sees every value.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


def path_keys(parts: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """``keys[i][j]`` = ``".".join(parts[i:j+1])``: the keys that can start at part ``i``."""
    return tuple(tuple(".".join(parts[i : j + 1]) for j in range(i, len(parts))) for i in range(len(parts)))


def values_at(doc: Any, parts: tuple[str, ...], keys: tuple[tuple[str, ...], ...] | None = None) -> list:
    """Every scalar value at the dotted path (``None``, objects and empty arrays are not values)."""
    out: list = []
    _collect(doc, parts, keys or path_keys(parts), 0, out, False)
    return out


def objects_at(doc: Any, parts: tuple[str, ...], keys: tuple[tuple[str, ...], ...] | None = None) -> list:
    """The objects (dicts) at the dotted path, arrays flattened: the scopes of a nested query."""
    out: list = []
    _collect(doc, parts, keys or path_keys(parts), 0, out, True)
    return out


def _collect(obj: Any, parts: tuple, keys: tuple, i: int, out: list, want_objects: bool) -> None:
    if i == len(parts):
        _leaf(obj, out, want_objects)
        return
    if isinstance(obj, Mapping):
        for j, key in enumerate(keys[i]):
            if key in obj:
                _collect(obj[key], parts, keys, i + j + 1, out, want_objects)
    elif isinstance(obj, list):
        for item in obj:
            _collect(item, parts, keys, i, out, want_objects)


def _leaf(value: Any, out: list, want_objects: bool) -> None:
    if value is None:
        return
    if isinstance(value, list):
        for item in value:
            _leaf(item, out, want_objects)
    elif isinstance(value, Mapping):
        if want_objects:
            out.append(value)
    elif not want_objects:
        out.append(value)


def leaves(value: Any) -> list:
    """All scalar values anywhere under a value (for flattened fields)."""
    out: list = []
    _all_leaves(value, out)
    return out


def _all_leaves(value: Any, out: list) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        for item in value.values():
            _all_leaves(item, out)
    elif isinstance(value, list):
        for item in value:
            _all_leaves(item, out)
    else:
        out.append(value)


def flatten(doc: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path, scalar value) for every value in a document, arrays flattened."""
    if isinstance(doc, Mapping):
        for key, value in doc.items():
            yield from flatten(value, f"{prefix}{key}.")
    elif isinstance(doc, list):
        for item in doc:
            yield from flatten(item, prefix)
    elif doc is not None:
        yield prefix[:-1], doc


def has_value(doc: Any) -> bool:
    """True when a document holds at least one non-null scalar anywhere."""
    return any(True for _ in flatten(doc))
