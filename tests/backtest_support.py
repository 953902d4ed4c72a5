"""Seeded generators for the index, prefilter and backtest tests: small queries, awkward events.

The vocabulary is tiny on purpose, so that random queries and events collide often: values that
look like numbers and booleans, a value with a space, one with a slash, one that is not ASCII;
events with arrays, flat dotted keys, numbers where strings are expected, nulls, and a
constant_keyword field that is sometimes absent.
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

FIELDS = {
    "event.action": "keyword",
    "event.provider": "keyword",
    "event.category": "keyword",
    "event.dataset": {"type": "constant_keyword", "value": "aws.cloudtrail"},
    "user.name": {"type": "keyword", "normalizer": "lowercase"},
    "source.port": "long",
    "tags": "keyword",
}
KEYWORD_FIELDS = ("event.action", "event.provider", "event.category", "tags", "user.name")
VALUES = ("AssumeRole", "CreateUser", "123", "true", "Delete it", "a/b", "café", "aws.cloudtrail", "other")


def kql_value(value: str) -> str:
    return '"' + value + '"' if not re.fullmatch(r"[A-Za-z0-9_.]+", value) else value


def make_query(rng: random.Random, depth: int = 0) -> str:
    roll = rng.random()
    if depth < 3 and roll < 0.35:
        op = rng.choice((" and ", " or "))
        return "(" + op.join(make_query(rng, depth + 1) for _ in range(rng.randint(2, 3))) + ")"
    if depth < 3 and roll < 0.42:
        return "not (" + make_query(rng, depth + 1) + ")"
    field = rng.choice(KEYWORD_FIELDS + ("event.dataset", "event.dataset", "source.port"))
    if field == "source.port":
        return rng.choice(("source.port > 100", "source.port:443", "source.port:*"))
    kind = rng.random()
    if kind < 0.55:
        return f"{field}:{kql_value(rng.choice(VALUES))}"
    if kind < 0.8:
        values = rng.sample(VALUES, rng.randint(2, 3))
        return f"{field}:(" + " or ".join(kql_value(v) for v in values) + ")"
    if kind < 0.9:
        return f"{field}:Ass*"
    return f"{field}:*"


def _put(event: dict, name: str, value: Any, flat: bool) -> None:
    if flat:
        event[name] = value
        return
    head, tail = name.split(".", 1) if "." in name else (name, None)
    if tail is None:
        event[head] = value
    else:
        event.setdefault(head, {})
        if isinstance(event[head], dict):
            event[head][tail] = value


def make_event(rng: random.Random) -> dict:
    event: dict = {}
    for name in ("event.action", "event.provider", "event.category", "event.dataset", "user.name", "tags",
                 "source.port"):
        roll = rng.random()
        if roll < 0.3:
            continue
        if name == "source.port":
            value: Any = rng.choice((80, 443, "443", 8080.0))
        elif roll < 0.45:
            value = [rng.choice(VALUES) for _ in range(rng.randint(0, 3))]
        elif roll < 0.5:
            value = rng.choice((123, True, None, 1.5))
        elif roll < 0.53:
            value = [{"nested": "AssumeRole"}]  # an object where a value is expected
        else:
            value = rng.choice(VALUES)
            if name == "user.name" and rng.random() < 0.5:
                value = value.upper()
        _put(event, name, value, flat=rng.random() < 0.15)
    return event


def _dump(value: Any, rng: random.Random, escape_share: float) -> str:
    """JSON text in which some strings have one letter written as a \\u escape."""
    if isinstance(value, dict):
        return "{" + ",".join(_dump(k, rng, escape_share) + ":" + _dump(v, rng, escape_share)
                              for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dump(v, rng, escape_share) for v in value) + "]"
    text = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and rng.random() < escape_share:
        letters = [i for i, ch in enumerate(text) if ch.isascii() and ch.isalpha()]
        if letters:
            i = rng.choice(letters)
            text = text[:i] + f"\\u{ord(text[i]):04X}" + text[i + 1:]  # "Assume\\u0052ole"
    return text


def encode_line(rng: random.Random, event: dict) -> bytes:
    """The event as one NDJSON line, sometimes with escapes a prefilter must see through."""
    roll = rng.random()
    if roll < 0.2:
        text = json.dumps(event)  # non-ASCII as \\uXXXX
    elif roll < 0.4:
        text = json.dumps(event, ensure_ascii=False).replace("/", "\\/")
    elif roll < 0.6:
        text = _dump(event, rng, 0.5)
    else:
        text = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8") + b"\n"
