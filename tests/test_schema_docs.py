"""Editor support: every field of the rule and fixture schemas has a title, a description and
examples (completion and hover text), the examples are valid, and the schemas stay valid."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from jsonschema import Draft202012Validator

from .conftest import REPO

SCHEMAS = ["rule.schema.json", "fixture.schema.json"]
# Keywords whose subschemas are constraints or alternatives, not field definitions.
_NOT_FIELDS = {"allOf", "anyOf", "oneOf", "if", "then", "else", "not", "examples", "const", "enum", "default"}


def _load(name: str) -> dict:
    return json.loads((REPO / "schemas" / name).read_text(encoding="utf-8"))


def fields(node: object, path: tuple = ()) -> Iterator[tuple[tuple, dict]]:
    """(path, definition) of every property declared anywhere in a schema."""
    if isinstance(node, dict):
        for name, definition in (node.get("properties") or {}).items():
            yield path + (name,), definition
        for key, value in node.items():
            if key not in _NOT_FIELDS:
                yield from fields(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from fields(value, path + (i,))


@pytest.mark.parametrize("name", SCHEMAS)
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    Draft202012Validator.check_schema(_load(name))


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_field_has_a_title_description_and_examples(name: str) -> None:
    schema = _load(name)
    found = list(fields(schema))
    assert len(found) > (100 if name.startswith("rule") else 10)
    missing = [f"{'/'.join(map(str, path))}: {key}" for path, definition in found
               for key in ("title", "description", "examples") if not definition.get(key)]
    assert missing == []


@pytest.mark.parametrize("name", SCHEMAS)
def test_examples_are_valid_values_of_their_field(name: str) -> None:
    schema = _load(name)
    wrong = []
    for path, definition in fields(schema):
        validator = Draft202012Validator({**definition, "$defs": schema.get("$defs", {})})
        for example in definition.get("examples", []):
            error = next(validator.iter_errors(example), None)
            if error is not None:
                wrong.append(f"{'/'.join(map(str, path))}: {example!r}: {error.message}")
    assert wrong == []


def test_the_walk_finds_nested_and_shared_definitions() -> None:
    paths = {path for path, _ in fields(_load("rule.schema.json"))}
    assert ("properties", "rule", "properties", "alert_suppression", "properties", "duration", "properties", "unit") \
        in {tuple(p) for p in paths} or any(p[-1] == "unit" for p in paths)
    assert any(p[:2] == ("$defs", "HistoryEntry") and p[-1] == "hash" for p in paths)
    assert any(p[:2] == ("$defs", "ThreatRef") and p[-1] == "reference" for p in paths)
