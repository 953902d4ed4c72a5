"""A close approximation of Elasticsearch's standard analyzer for text fields.

The standard tokenizer follows Unicode word boundaries (UAX #29): runs of letters, digits and
underscores are words; ``.``, ``'`` and ``:`` join letters on both sides (``sts.amazonaws.com``,
``can't``), ``.``, ``,`` and ``;`` join digits (``10.0.0.1``, ``1,000``); each CJK ideograph is its
own token. Tokens are then lowercased. Stop words are not removed (the default has none).
"""

from __future__ import annotations

import re
from functools import lru_cache

_WORD_RUN = re.compile(r"[^\W]+")  # letters, digits, marks and "_" (ExtendNumLet)
_LETTER_JOINERS = frozenset(".'\u2019:\u00b7")
_DIGIT_JOINERS = frozenset(".,;'\u2019")
_IDEOGRAPH = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
MAX_TOKEN_LENGTH = 255


@lru_cache(maxsize=65536)
def analyze(text: str) -> tuple[str, ...]:
    runs = [(m.start(), m.end()) for m in _WORD_RUN.finditer(text)]
    words: list[str] = []
    current: list[str] = []
    prev_end = -1
    for start, end in runs:
        if current and start == prev_end + 1 and _joins(text, prev_end, start):
            current.append(text[prev_end:end])
        else:
            if current:
                words.append("".join(current))
            current = [text[start:end]]
        prev_end = end
    if current:
        words.append("".join(current))
    tokens: list[str] = []
    for word in words:
        if _IDEOGRAPH.search(word):
            tokens.extend(_split_ideographs(word))
        else:
            tokens.append(word)
    return tuple(t.lower()[:MAX_TOKEN_LENGTH] for t in tokens if t)


def _joins(text: str, joiner_at: int, next_start: int) -> bool:
    joiner = text[joiner_at]
    before, after = text[joiner_at - 1], text[next_start]
    if before.isdigit() and after.isdigit():
        return joiner in _DIGIT_JOINERS
    if before.isalpha() and after.isalpha():
        return joiner in _LETTER_JOINERS
    return False  # a letter next to a digit across a joiner is a boundary


def _split_ideographs(word: str) -> list[str]:
    out: list[str] = []
    buf = ""
    for ch in word:
        if _IDEOGRAPH.match(ch):
            if buf:
                out.append(buf)
                buf = ""
            out.append(ch)
        else:
            buf += ch
    if buf:
        out.append(buf)
    return out


def contains_phrase(tokens: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    if not phrase:
        return False
    n = len(phrase)
    first = phrase[0]
    for i, tok in enumerate(tokens):
        if tok == first and tokens[i : i + n] == phrase:
            return True
    return False
