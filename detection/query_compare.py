"""Tell a change in a query's meaning from a change in its layout.

Elastic's old docs compared raw query strings, so a removed trailing space was published as
"Updated query". Here two queries are equivalent when their parse trees are equal (KQL via
``detection.kql``, EQL via ``detection.eql``, ES|QL via ``detection.esql`` once those modules can
parse them), and otherwise when their token sequences are equal: whitespace between tokens does
not count, whitespace inside quoted strings does. When unsure the answer is "not equivalent", so a
real change is never recorded as formatting.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from typing import Any

# Attributes of AST nodes that say where a node was written, not what it means.
_POSITION_ATTRS = frozenset({"line", "column", "col", "pos", "position", "offset", "start", "end", "span",
                             "location", "loc", "raw", "source", "text_span"})
_PARSERS = {"kuery": ("detection.kql", "parse"), "eql": ("detection.eql", "parse"),
            "esql": ("detection.esql", "parse")}
_BLOCK_COMMENT_LANGUAGES = frozenset({"eql", "esql"})


def queries_equivalent(language: str | None, a: str | None, b: str | None) -> bool:
    """True when queries ``a`` and ``b`` in ``language`` mean the same thing."""
    if a == b:
        return True
    if a is None or b is None:
        return False
    trees = _parse_both(language, a, b)
    if trees is not None:
        return _shape(trees[0]) == _shape(trees[1])
    return query_tokens(language, a) == query_tokens(language, b)


def text_equivalent(a: Any, b: Any) -> bool:
    """Prose fields differ only in layout: the same words after trimming and collapsing spaces.

    Line breaks are kept apart from spaces because Markdown (note, setup) gives them meaning.
    """
    if a == b:
        return True
    if not isinstance(a, str) or not isinstance(b, str):
        return False
    return _prose(a) == _prose(b)


def _prose(text: str) -> tuple[str, ...]:
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.strip().splitlines()]
    return tuple(lines)


def _parse_both(language: str | None, a: str, b: str) -> tuple[Any, Any] | None:
    """Both parse trees, or None when no parser is available or either query does not parse."""
    target = _PARSERS.get(language or "")
    if target is None:
        return None
    try:
        parse = getattr(importlib.import_module(target[0]), target[1])
    except (ImportError, AttributeError):
        return None  # that language's engine is not in this build; fall back to tokens
    try:
        return parse(a), parse(b)
    except Exception:  # noqa: BLE001 - any parse failure means "compare tokens instead"
        return None


def _shape(node: Any) -> Any:
    """A comparable picture of a parse tree without source positions (dataclass fields marked
    ``compare=False`` and attributes with position-like names are left out)."""
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return (type(node).__name__,
                tuple((f.name, _shape(getattr(node, f.name))) for f in dataclasses.fields(node)
                      if f.compare and f.name not in _POSITION_ATTRS))
    if isinstance(node, (list, tuple)):
        return tuple(_shape(n) for n in node)
    if isinstance(node, dict):
        return tuple(sorted((str(k), _shape(v)) for k, v in node.items() if k not in _POSITION_ATTRS))
    if hasattr(node, "__dict__") and not isinstance(node, type):
        return (type(node).__name__,
                tuple(sorted((k, _shape(v)) for k, v in vars(node).items()
                             if k not in _POSITION_ATTRS and not k.startswith("_"))))
    return node


# Quoted strings (with backslash escapes), EQL/ES|QL triple-quoted strings, and runs of word
# characters (a backslash escapes the next character, as in KQL and Lucene `a\ b`).
_TOKEN = re.compile(r'''
    (?P<triple>\?"""[\s\S]*?"""|"""[\s\S]*?""")
  | (?P<dq>\?"(?:[^"\\]|\\.)*"|"(?:[^"\\]|\\.)*")
  | (?P<sq>'(?:[^'\\]|\\.)*')
  | (?P<bq>`(?:[^`]|``)*`)
  | (?P<line_comment>//[^\n]*)
  | (?P<block_comment>/\*[\s\S]*?\*/)
  | (?P<word>(?:[^\s()\[\]{}:<>=!,|"'`\\]|\\.)+)
  | (?P<space>\s+)
  | (?P<punct>.)
''', re.VERBOSE)


def query_tokens(language: str | None, text: str) -> tuple[str, ...]:
    """The query as tokens: strings and words as written, punctuation alone, whitespace dropped.

    Comments are dropped for EQL and ES|QL (the only languages here that have them).
    """
    tokens: list[str] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:  # pragma: no cover - the last alternative matches any character
            break
        pos = match.end()
        kind = match.lastgroup
        if kind == "space":
            continue
        if kind in ("line_comment", "block_comment"):
            if language in _BLOCK_COMMENT_LANGUAGES:
                continue
            # elsewhere "/" is an ordinary character: re-read the text one character further on
            tokens.append(text[match.start()])
            pos = match.start() + 1
            continue
        tokens.append(match.group())
    return tuple(tokens)
