"""Lucene regular expressions (``field:/.../``) as Python ones.

Lucene's RegExp syntax (Elasticsearch "Regular expression syntax" reference) differs from
Python's: a pattern always matches the whole term (no ``^``/``$`` anchors - both are plain
characters), ``"..."`` quotes a literal string, ``@`` matches any string and ``#`` nothing,
``.`` also matches a newline. ``\\d \\s \\w`` and their negations are character classes. The
complement ``~``, intersection ``&`` and numeric interval ``<1-10>`` operators have no Python
equivalent and raise a "not supported" error.
"""

from __future__ import annotations

import re

from detection.lucene.errors import UNSUPPORTED, LuceneError

_CLASSES = {"d": "[0-9]", "D": "[^0-9]", "s": r"[ \t\n\x0b\f\r]", "S": r"[^ \t\n\x0b\f\r]",
            "w": "[A-Za-z0-9_]", "W": "[^A-Za-z0-9_]"}
_PASS = set(".*+?|){}")


def translate_regex(source: str, query: str = "", base: int = 0) -> str:
    """The Python pattern (to be used with ``re.fullmatch`` and ``re.DOTALL``) for ``source``.

    ``query`` and ``base`` place errors: ``source`` starts at offset ``base`` of ``query``.
    """
    out: list[str] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch == "\\" and i + 1 < n:
            nxt = source[i + 1]
            out.append(_CLASSES.get(nxt) or re.escape(nxt))
            i += 2
        elif ch == "[":
            end, text = _char_class(source, i, query, base)
            out.append(text)
            i = end
        elif ch == '"':
            close = source.find('"', i + 1)
            if close < 0:
                raise LuceneError("unterminated quoted string in regular expression", query, base + i,
                                  'close it with ", or escape the quote as \\"')
            out.append(re.escape(source[i + 1:close]))
            i = close + 1
        elif ch == "(":
            out.append("(?:")
            i += 1
        elif ch == "@":
            out.append(".*")
            i += 1
        elif ch == "#":
            out.append("(?!)")
            i += 1
        elif ch in "~&<":
            what = {"~": "complement (~)", "&": "intersection (&)", "<": "numeric interval (<a-b>)"}[ch]
            raise LuceneError(f"the regular expression operator {what} is not supported by this engine",
                              query, base + i, f"escape it (\\{ch}) if it is a literal character", UNSUPPORTED)
        elif ch in _PASS:
            out.append(ch)
            i += 1
        else:
            out.append(re.escape(ch))
            i += 1
    pattern = "".join(out)
    try:
        re.compile(pattern, re.DOTALL)
    except re.error as exc:
        raise LuceneError(f"invalid regular expression: {exc.msg}", query, base + min(exc.pos or 0, n),
                          "check the brackets and repetitions of the pattern") from None
    return pattern


def _char_class(source: str, start: int, query: str, base: int) -> tuple[int, str]:
    out = ["["]
    i = start + 1
    if i < len(source) and source[i] == "^":
        out.append("^")
        i += 1
    first = True
    while i < len(source):
        ch = source[i]
        if ch == "]" and not first:
            out.append("]")
            return i + 1, "".join(out)
        if ch == "\\" and i + 1 < len(source):
            nxt = source[i + 1]
            out.append(_CLASSES[nxt][1:-1] if nxt in _CLASSES and not _CLASSES[nxt].startswith("[^") else re.escape(nxt))
            i += 2
        elif ch == "-":
            out.append("-")
            i += 1
        else:
            out.append(re.escape(ch))
            i += 1
        first = False
    raise LuceneError("unterminated character class '['", query, base + start, "close it with ']'")
