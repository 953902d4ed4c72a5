"""JSON Schema validation of rule (and fixture) documents, turned into located diagnostics."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable, Sequence
from typing import Any

import jsonschema

from detection.diagnostics import Diagnostic, Location
from detection.resources import load_schema
from detection.sourcemap import SourceMap

CODE_MISSING = "S101"
CODE_UNKNOWN = "S102"
CODE_TYPE = "S103"
CODE_VALUE = "S104"
CODE_SHAPE = "S105"

_JSON_TYPES = {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "true or false",
               "array": "a list", "object": "a table (mapping)", "null": "null"}
_PATTERN_HINTS = {
    "interval": "write a number and a unit (s, m, h or d), e.g. 5m",
    "from": "write date math such as now-6m",
    "date": "write the date as YYYY/MM/DD",
    "creation_date": "write the date as YYYY/MM/DD",
    "updated_date": "write the date as YYYY/MM/DD",
    "deprecation_date": "write the date as YYYY/MM/DD",
    "hash": "hashes are written sha256:<64 hex digits>; `detection bump` fills them in",
    "throttle": "use no_actions, rule, or a duration such as 1h",
}


@functools.cache
def validator_for(schema_name: str) -> jsonschema.Draft202012Validator:
    schema = load_schema(schema_name)
    return jsonschema.Draft202012Validator(schema)


def describe_path(path: Sequence[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the document"


def _type_name(value: Any) -> str:
    for name, kind in (("null", type(None)), ("true or false", bool), ("an integer", int), ("a number", float),
                       ("a string", str), ("a list", list), ("a table (mapping)", dict)):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _suggest(value: Any, choices: Iterable[Any]) -> str | None:
    if not isinstance(value, str):
        return None
    options = [c for c in choices if isinstance(c, str)]
    lowered = {c.lower(): c for c in options}
    if value.lower() in lowered:
        return lowered[value.lower()]
    close = difflib.get_close_matches(value, options, n=1, cutoff=0.6)
    return close[0] if close else None


def schema_diagnostics(document: Any, source: SourceMap, display_path: str,
                       schema_name: str = "rule.schema.json") -> list[Diagnostic]:
    """Every schema violation in ``document`` as a located diagnostic (one per problem)."""
    found: dict[tuple, Diagnostic] = {}
    for error in validator_for(schema_name).iter_errors(document):
        for diag in _to_diagnostics(error, document, source, display_path):
            key = (diag.location, diag.code, diag.message)
            found.setdefault(key, diag)
    return list(found.values())


def _rule_type(document: Any) -> str | None:
    if isinstance(document, dict) and isinstance(document.get("rule"), dict):
        value = document["rule"].get("type")
        return value if isinstance(value, str) else None
    return None


def _to_diagnostics(error: jsonschema.ValidationError, document: Any, source: SourceMap,
                    display_path: str) -> list[Diagnostic]:
    path = tuple(error.absolute_path)
    where = describe_path(path)
    kind = error.validator
    instance = error.instance

    def at(p: tuple, key: bool = False) -> Location:
        line, col = source.key(p) if key else source.value(p)
        return Location(display_path, line, col)

    if kind == "required":
        out = []
        in_then = "then" in list(error.schema_path)
        rule_type = _rule_type(document) if in_then else None
        for name in error.validator_value:
            if isinstance(instance, dict) and name not in instance:
                why = f" (required for {rule_type} rules)" if rule_type and path == ("rule",) else ""
                out.append(Diagnostic(at(path, key=True), CODE_MISSING,
                                      f"{where} is missing required field '{name}'{why}",
                                      hint=f"add '{name}' to {where}"))
        return out
    if kind == "additionalProperties":
        allowed = list((error.schema.get("properties") or {}).keys())
        out = []
        for name in instance:
            if name in allowed:
                continue
            guess = _suggest(name, allowed)
            if path == ():
                message = f"unknown top-level table '{name}'"
                hint = "a rule file has the tables metadata, rule and history"
            else:
                message = f"unknown field '{name}' in {where}"
                hint = "Kibana would ignore it; remove it or fix the spelling" if path == ("rule",) else "remove it or fix the spelling"
            if guess:
                hint = f"did you mean '{guess}'?"
            data: dict[str, Any] = {"path": path + (name,)}
            if guess:
                data["suggestion"] = guess
            out.append(Diagnostic(at(path + (name,), key=True), CODE_UNKNOWN, message, hint=hint, data=data))
        return out
    if kind == "type":
        expected = error.validator_value
        expected_list = expected if isinstance(expected, list) else [expected]
        wanted = " or ".join(_JSON_TYPES.get(t, t) for t in expected_list)
        return [Diagnostic(at(path), CODE_TYPE, f"{where} must be {wanted}, not {_type_name(instance)} ({instance!r})",
                           hint=f"write {where} as {wanted}")]
    if kind in ("enum", "const"):
        choices = error.validator_value if kind == "enum" else [error.validator_value]
        guess = _suggest(instance, choices)
        listing = ", ".join(str(c) for c in choices)
        hint = f"did you mean '{guess}'?" if guess else f"use one of: {listing}"
        return [Diagnostic(at(path), CODE_VALUE, f"{where} has invalid value {instance!r}; expected one of: {listing}",
                           hint=hint, data={"suggestion": guess} if guess else {})]
    if kind == "pattern":
        last = next((p for p in reversed(path) if isinstance(p, str)), "")
        hint = _PATTERN_HINTS.get(last, f"the value must match {error.validator_value}")
        return [Diagnostic(at(path), CODE_VALUE, f"{where} has invalid value {instance!r}", hint=hint)]
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        bound = {"minimum": "at least", "maximum": "at most", "exclusiveMinimum": "more than",
                 "exclusiveMaximum": "less than"}[kind]
        return [Diagnostic(at(path), CODE_VALUE, f"{where} is {instance!r}; it must be {bound} {error.validator_value}")]
    if kind in ("minItems", "maxItems", "minLength", "maxLength"):
        what = "items" if "Items" in kind else "characters"
        bound = "at least" if kind.startswith("min") else "at most"
        message = f"{where} must have {bound} {error.validator_value} {what}"
        if kind == "minLength" and error.validator_value == 1:
            message = f"{where} must not be empty"
        return [Diagnostic(at(path), CODE_VALUE, message)]
    if kind == "anyOf" and path == ("rule",):
        options = [s.get("required", []) for s in error.validator_value]
        text = " or ".join("+".join(o) for o in options)
        return [Diagnostic(at(path, key=True), CODE_MISSING, f"rule needs {text}",
                           hint="Kibana needs to know what to search: add the missing field(s)")]
    if kind in ("oneOf", "anyOf"):
        return [Diagnostic(at(path), CODE_SHAPE, f"{where} has the wrong shape ({_type_name(instance)})",
                           hint=error.schema.get("description") or "see schemas/rule.schema.json")]
    return [Diagnostic(at(path), CODE_SHAPE, f"{where}: {error.message}")]
