"""Kibana's ndjson files: one JSON object per line, read with positions, written deterministically.

Writing follows what Kibana's own export does (``JSON.stringify`` per object: UTF-8, no spaces,
non-ASCII characters written as they are) and adds sorted keys, so the same rules always give the
same bytes. Reading classifies each line the way Kibana's import route does: an export-details
line has ``exported_count``; exception lists and items have ``list_id``, ``item_id`` or
``entries``; action connectors have ``attributes``; anything else is a rule.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from detection.diagnostics import Diagnostic, Location

CODE_JSON = "K101"
CODE_NOT_OBJECT = "K102"
CODE_DUPLICATE_KEY = "K112"
CODE_ENCODING = "K110"

RULE, DETAILS, EXCEPTION_LIST, EXCEPTION_ITEM, CONNECTOR = (
    "rule", "export_details", "exception_list", "exception_item", "action_connector")


def dumps_line(value: Any) -> str:
    """One compact JSON line with sorted keys; NaN and Infinity are refused, as JSON has none."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def classify(obj: Mapping[str, Any]) -> str:
    """What a parsed line is, by the keys Kibana's import route looks at."""
    if "exported_count" in obj:
        return DETAILS
    if "item_id" in obj or "entries" in obj:
        return EXCEPTION_ITEM
    if "list_id" in obj:
        return EXCEPTION_LIST
    if "attributes" in obj:
        return CONNECTOR
    return RULE


@dataclass(frozen=True)
class NdjsonLine:
    number: int  # 1-based line number in the file
    text: str
    value: dict[str, Any]
    kind: str

    def key_column(self, key: str) -> int:
        """1-based column of a top-level key in the line (1 when it is absent)."""
        return top_level_key_columns(self.text).get(key, 1)


class _DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def decode_text(data: bytes, shown: str) -> tuple[str, list[Diagnostic]]:
    """Bytes to text; a BOM is dropped, bytes that are not UTF-8 give a located K110."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return "", [Diagnostic(Location(shown, line, col), CODE_ENCODING, "the file is not valid UTF-8",
                               hint="Kibana writes exports as UTF-8; re-export the rules or convert the file")]


def read_ndjson(text: str, shown: str) -> tuple[list[NdjsonLine], list[Diagnostic]]:
    """Parse every non-blank line; problems come back as ``FILE:LINE:COL: K1xx`` diagnostics."""
    lines: list[NdjsonLine] = []
    problems: list[Diagnostic] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        raw = raw.rstrip("\r")
        if not raw.strip():
            continue
        try:
            value = json.loads(raw, object_pairs_hook=_pairs, parse_constant=_no_constants)
        except _DuplicateKey as exc:
            col = _second_key_column(raw, exc.key)
            problems.append(Diagnostic(Location(shown, number, col), CODE_DUPLICATE_KEY,
                                       f"key {exc.key!r} appears twice in one object",
                                       hint="JSON parsers disagree on which value wins; keep one of the two"))
            continue
        except json.JSONDecodeError as exc:
            problems.append(Diagnostic(Location(shown, number, exc.colno), CODE_JSON, f"not valid JSON: {exc.msg}",
                                       hint="each line of an .ndjson file must be one complete JSON object"))
            continue
        except ValueError as exc:  # NaN / Infinity
            problems.append(Diagnostic(Location(shown, number, 1), CODE_JSON, f"not valid JSON: {exc}"))
            continue
        if not isinstance(value, dict):
            problems.append(Diagnostic(Location(shown, number, 1), CODE_NOT_OBJECT,
                                       f"line is a JSON {type(value).__name__}, not an object",
                                       hint="each line must be one rule, exception or connector object"))
            continue
        lines.append(NdjsonLine(number, raw, value, classify(value)))
    return lines, problems


def _second_key_column(line: str, key: str) -> int:
    """Column of the repeated occurrence of a key (1 when it was spelled with escapes)."""
    spots = [m.start() + 1 for m in re.finditer(re.escape(json.dumps(key, ensure_ascii=False)) + r"\s*:", line)]
    return spots[1] if len(spots) > 1 else 1


def top_level_key_columns(line: str) -> dict[str, int]:
    """Columns (1-based) where each top-level key of a one-line JSON object starts."""
    columns: dict[str, int] = {}
    depth = 0
    i, n = 0, len(line)
    expect_key = False
    while i < n:
        ch = line[i]
        if ch == '"':
            start = i
            i += 1
            while i < n and line[i] != '"':
                i += 2 if line[i] == "\\" else 1
            if depth == 1 and expect_key:
                try:
                    key = json.loads(line[start:i + 1])
                except ValueError:
                    key = None
                if isinstance(key, str):
                    columns.setdefault(key, start + 1)
                expect_key = False
        elif ch in "{[":
            depth += 1
            expect_key = ch == "{" and depth == 1
        elif ch in "}]":
            depth -= 1
        elif ch == "," and depth == 1:
            expect_key = True
        i += 1
    return columns
