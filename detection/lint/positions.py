"""Map a character offset inside a loaded string (a query) back to a line and column of the file.

The source map knows where a scalar starts (its indicator ``>-``/``|``, its opening quote, or
its first character). YAML folding, block indentation and TOML's multi-line strings change only
the whitespace between words, so the words of the loaded string appear in the file in the same
order: find them one after the other from the scalar's start. A word that was escaped in the file
(``\\\\`` or ``\\"`` in a double-quoted string) is looked for in its escaped form too. The result is
exact for plain, literal, folded and single-quoted scalars; if a word cannot be found the position
falls back to the last word that was, plus the remaining distance.
"""

from __future__ import annotations

import bisect
import re

from detection.diagnostics import Location
from detection.model import RuleFile

_WORD = re.compile(r"\S+")
_GAP = 200


def line_starts(text: str) -> list[int]:
    starts = [0]
    for index, ch in enumerate(text):
        if ch == "\n":
            starts.append(index + 1)
    return starts


def _absolute(starts: list[int], line: int, column: int) -> int:
    line = max(1, min(line, len(starts)))
    return starts[line - 1] + max(0, column - 1)


def _line_col(starts: list[int], offset: int) -> tuple[int, int]:
    index = bisect.bisect_right(starts, offset) - 1
    return index + 1, offset - starts[index] + 1


def _content_start(text: str, offset: int) -> int:
    """Skip a scalar's opening indicator or quotes to where its characters begin."""
    head = text[offset:offset + 3]
    if head[:1] in ("|", ">"):  # YAML block scalar: content starts on the next line
        newline = text.find("\n", offset)
        return len(text) if newline < 0 else newline + 1
    if head in ('"""', "'''"):
        offset += 3
        return offset + 1 if text[offset:offset + 1] == "\n" else offset
    if head[:1] in ('"', "'"):
        return offset + 1
    return offset


def _plain(text: str) -> str:
    return text


def _double_quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _single_quoted(text: str) -> str:
    return text.replace("'", "''")


# How a word may be spelt in the file: as is, escaped in a double-quoted (YAML/TOML basic) string,
# or with doubled quotes in a YAML single-quoted string.
_SPELLINGS = (_plain, _double_quoted, _single_quoted)


def locate_in_value(text: str, start: tuple[int, int], value: str, offset: int) -> tuple[int, int]:
    """(line, column) in ``text`` of character ``offset`` of the string ``value`` whose scalar
    starts at ``start`` (1-based line and column)."""
    starts = line_starts(text)
    cursor = _content_start(text, _absolute(starts, *start))
    anchor_file, anchor_value = cursor, 0
    for match in _WORD.finditer(value):
        word_start, word = match.start(), match.group()
        if word_start > offset:
            break
        found = -1
        for spell in _SPELLINGS:
            form = spell(word)
            if spell is not _plain and form == word:
                continue
            # Between two words there is only whitespace, indentation or a line break: a match far
            # away would be another value's text.
            found = text.find(form, cursor, cursor + 2 * len(form) + _GAP)
            if found >= 0:
                inner = offset - word_start
                if inner <= len(word):
                    return _line_col(starts, found + len(spell(word[:inner])))
                cursor = found + len(form)
                anchor_file, anchor_value = found, word_start
                break
        if found < 0:
            break
    # Not found, or the offset is in whitespace: keep the distance from the last word found.
    target = anchor_file + max(0, offset - anchor_value)
    return _line_col(starts, max(0, min(target, len(text) - 1)))


def value_location(rule: RuleFile, path: tuple, offset: int | None = None) -> Location:
    """Location of a string value at ``path`` in the rule file, or of character ``offset`` in it."""
    start = rule.source.value(path)
    if offset is None:
        return Location(rule.display_path, *start)
    value = _get(rule.document, path)
    if not isinstance(value, str):
        return Location(rule.display_path, *start)
    line, column = locate_in_value(rule.text, start, value, offset)
    return Location(rule.display_path, line, column)


def _get(document: object, path: tuple) -> object:
    current = document
    for part in path:
        try:
            current = current[part]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return None
    return current
