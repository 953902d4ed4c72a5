"""TOML loading with positions.

``tomllib`` parses (and reports syntax errors with a line and column); a light line scanner
then records where each table and key sits, so schema findings in TOML rules are located as
precisely as in YAML ones. Values inside inline tables and arrays are located at their key.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

from detection.sourcemap import SourceMap

_HEADER = re.compile(r"^\s*(\[\[?)\s*(.+?)\s*(\]\]?)\s*(#.*)?$")
_KEY = re.compile(r"""^\s*((?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*'))*)\s*=\s*""")
_SEGMENT = re.compile(r"""[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*'""")
_TOML_ERR_POS = re.compile(r"\(at line (\d+), column (\d+)\)")


class TomlProblem(ValueError):
    def __init__(self, message: str, line: int, column: int):
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


def load_toml(text: str) -> tuple[dict[str, Any], SourceMap]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_ERR_POS.search(message)
        line, col = (int(match.group(1)), int(match.group(2))) if match else (1, 1)
        message = _TOML_ERR_POS.sub("", message).strip()
        raise TomlProblem(f"TOML syntax error: {message}", line, col) from None
    return data, _scan_positions(text)


def _segments(dotted: str) -> tuple[str, ...]:
    out = []
    for seg in _SEGMENT.findall(dotted):
        if seg[0] in "\"'":
            seg = seg[1:-1]
        out.append(seg)
    return tuple(out)


def _scan_positions(text: str) -> SourceMap:
    values: dict[tuple, tuple[int, int]] = {(): (1, 1)}
    keys: dict[tuple, tuple[int, int]] = {}
    last_index: dict[tuple, int] = {}
    table: tuple = ()
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        raw = lines[i]
        lineno = i + 1
        i += 1
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        header = _HEADER.match(raw) if stripped.startswith("[") else None
        if header:
            segs = _segments(header.group(2))
            resolved: tuple = ()
            for seg in segs[:-1]:
                resolved += (seg,)
                if resolved in last_index:
                    resolved += (last_index[resolved],)
            resolved += (segs[-1],) if segs else ()
            col = raw.index("[") + 1
            if header.group(1) == "[[":
                keys.setdefault(resolved, (lineno, col))
                values.setdefault(resolved, (lineno, col))
                index = last_index.get(resolved, -1) + 1
                last_index[resolved] = index
                resolved += (index,)
            keys[resolved] = (lineno, col)
            values[resolved] = (lineno, col)
            table = resolved
            continue
        match = _KEY.match(raw)
        if not match:
            continue
        path = table + _segments(match.group(1))
        keys[path] = (lineno, raw.index(match.group(1)) + 1)
        values[path] = (lineno, match.end() + 1)
        rest = raw[match.end():]
        i = _skip_multiline(lines, i, rest)
    return SourceMap(values, keys)


def _skip_multiline(lines: list[str], i: int, rest: str) -> int:
    """Skip the continuation lines of a multi-line string or array; return the next index."""
    for quote in ('"""', "'''"):
        if rest.startswith(quote):
            if rest.count(quote) >= 2:
                return i
            while i < len(lines):
                i += 1
                if quote in lines[i - 1]:
                    return i
            return i
    depth = _bracket_depth(rest)
    while depth > 0 and i < len(lines):
        depth += _bracket_depth(lines[i])
        i += 1
    return i


def _bracket_depth(text: str) -> int:
    depth, quote, escaped = 0, "", False
    for ch in text:
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\" and quote == '"':
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            break
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
    return depth
