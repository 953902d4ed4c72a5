"""The full-text search functions ``KQL()`` and ``QSTR()``: checked as Elasticsearch checks them,
evaluated over each row's source document.

Elasticsearch runs them as Lucene queries against the indexed document, so what they read is
the event as mapped, not the query's columns. This engine compiles the query string once with
the project's KQL engine (:mod:`detection.kql`; ``QSTR`` with :mod:`detection.lucene`) and tests
every row against the event it came from. Field types come from ``field_types`` when it is a
mapping or a :class:`~detection.fields.FieldSchema`; otherwise from the default schema (ECS and
the shipped integrations), the one KQL rules are run with.

What Elasticsearch refuses is refused here, at the function call (sources: the ES|QL reference
pages of KQL and QSTR, and "ES|QL limitations: full-text search"):

* the query is one constant, non-null string;
* the functions filter: they may appear in a WHERE condition (or ``STATS ... WHERE``), under
  AND, OR, NOT or a comparison only;
* a full-text search must come "directly after FROM, or close enough to it": every command
  before its WHERE is FROM, WHERE or SORT ("[KQL] function cannot be used after EVAL");
* KQL's named options (Elasticsearch 9.3+) are ``boost``, ``case_insensitive``, ``time_zone``
  and ``default_field``. Only the values that do not change which documents match are
  evaluated (any boost, ``case_insensitive: false``, a UTC time zone, ``default_field: "*"``);
  the others are refused as unsupported.

A syntax error in the query string is reported at its position inside the ES|QL query.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from detection.esql import ast
from detection.esql.errors import EsqlError, EsqlUnsupported

__all__ = [
    "FULL_TEXT",
    "FullText",
    "check_full_text_call",
    "check_placement",
    "compile_full_text",
    "full_text_field_refs",
    "full_text_fields",
    "literal_offset",
]


@dataclass(frozen=True)
class FullText:
    label: str  # the name in Elasticsearch's messages
    language: str  # "kql" or "lucene": the engine that reads the query string
    options: Mapping[str, str]  # named option -> the kind of constant it takes


FULL_TEXT: dict[str, FullText] = {
    "kql": FullText(
        "KQL",
        "kql",
        {"boost": "number", "case_insensitive": "boolean", "time_zone": "string", "default_field": "string"},
    ),
    "qstr": FullText("QSTR", "lucene", {}),
}

# Commands a WHERE holding KQL or QSTR may follow (Elasticsearch's EsRelation, Filter, OrderBy).
_ALLOWED_BEFORE = (ast.From, ast.Where, ast.Sort)
# Parents a full-text call may have inside a condition.
_LOGICAL = frozenset({"and", "or"})
_UTC_ZONES = frozenset({"utc", "z", "+00:00", "-00:00", "+0000", "+00", "etc/utc", "gmt", "etc/gmt", "zulu"})


# --------------------------------------------------------------------------- the call itself


def check_full_text_call(call: ast.Call, source: str) -> None:
    """Checks that need only the call: its arguments, its options, the query string's syntax."""
    spec = FULL_TEXT[call.name]
    args = call.args
    if call.star:
        raise EsqlError(f"{spec.label}(*) is not valid", source, call.pos)
    options = [a for a in args if _is_map(a)]
    positional = [a for a in args if not _is_map(a)]
    if len(positional) != 1:
        raise EsqlError(
            f"{spec.label} takes 1 argument (the query string) and optional named options, found {len(positional)}",
            source,
            call.pos,
            f'e.g. {spec.label}("process.name: cmd.exe")',
        )
    _query_string(call, source)
    if options:
        _check_options(spec, call, options[0], source)
    parsed_query(call, source)


def _query_string(call: ast.Call, source: str) -> ast.Literal:
    """The query argument: a string literal, or a located error saying what Elasticsearch says."""
    spec = FULL_TEXT[call.name]
    arg = call.args[0]
    text = _text(source, call)
    if isinstance(arg, ast.Literal) and arg.kind == "string":
        return arg
    if isinstance(arg, ast.Literal) and arg.kind == "null":
        raise EsqlError(f"first argument of [{text}] cannot be null, received [null]", source, arg.pos)
    if isinstance(arg, ast.Literal):
        raise EsqlError(
            f"first argument of [{text}] must be [keyword, text], found value [{_text(source, arg)}] type [{arg.kind}]",
            source,
            arg.pos,
        )
    if any(isinstance(n, ast.FieldRef) for n in ast.walk(arg)):
        raise EsqlError(
            f"query must be a constant string in [{text}], found [{_text(source, arg)}]",
            source,
            _pos(arg),
            f"a {spec.label} query is a string literal; it cannot read a column",
        )
    raise EsqlUnsupported(
        f"a computed {spec.label} query string is not supported by this engine",
        source,
        _pos(arg),
        "write the query as one string literal",
    )


def _check_options(spec: FullText, call: ast.Call, options: ast.Literal, source: str) -> None:
    if not spec.options:
        raise EsqlUnsupported(
            f"{spec.label} named options are not supported by this engine",
            source,
            options.pos,
            f"drop the options: {spec.label}(query) alone is evaluated",
        )
    text = _text(source, call)
    seen: set[str] = set()
    for name, value in options.value:  # type: ignore[attr-defined]
        if name not in spec.options:
            raise EsqlError(
                f"Invalid option [{name}] in [{text}], expected one of [{', '.join(sorted(spec.options))}]",
                source,
                value.pos,
            )
        if name in seen:
            raise EsqlError(f"option [{name}] is given twice in [{text}]", source, value.pos)
        seen.add(name)
        kind = spec.options[name]
        if not _has_kind(value, kind):
            raise EsqlError(
                f"Invalid option [{name}] in [{text}], expected a {kind}, found [{_text(source, value)}]",
                source,
                value.pos,
            )
        refusal = _unsupported_option_value(name, value.value)
        if refusal:
            raise EsqlUnsupported(f"{spec.label} option {name}: {refusal}", source, value.pos)


def _has_kind(value: ast.Literal, kind: str) -> bool:
    if kind == "number":
        return value.kind in ("integer", "decimal")
    return value.kind == kind


def _unsupported_option_value(name: str, value: object) -> str | None:
    """Why this engine cannot honour an option's value (None when matching is unaffected)."""
    if name == "case_insensitive" and value is True:
        return "case-insensitive matching of keyword fields is not supported by this engine"
    if name == "time_zone" and str(value).lower() not in _UTC_ZONES:
        return f"time zone [{value}] is not supported by this engine; dates in the query are read as UTC"
    if name == "default_field" and value != "*":
        return f"default field [{value}] is not supported by this engine; free text searches every field"
    return None  # boost only changes scores


# --------------------------------------------------------------------------- placement


def check_placement(query: ast.Query) -> None:
    """Where full-text functions may appear, as Elasticsearch's verifier decides."""
    source = query.source
    for index, command in enumerate(query.commands):
        for expr, filtering in _expressions(command):
            calls = [n for n in ast.walk(expr) if isinstance(n, ast.Call) and n.name in FULL_TEXT]
            if not calls:
                continue
            label = FULL_TEXT[calls[0].name].label
            if not filtering:
                raise EsqlError(
                    f"[{label}] function is only supported in WHERE and STATS commands",
                    source,
                    calls[0].pos,
                    "filter with it: | WHERE " + calls[0].render(),
                )
            _check_parents(expr, source)
            blocker = _blocker(query.commands[:index])
            if blocker is None:
                continue
            word = _command_word(source, blocker)
            if isinstance(command, ast.Stats):
                raise EsqlUnsupported(
                    f"[{label}] in STATS ... WHERE after {word} is not supported by this engine",
                    source,
                    calls[0].pos,
                    "filter with WHERE " + label + "(...) right after FROM, before the STATS",
                )
            raise EsqlError(
                f"[{label}] function cannot be used after {word}",
                source,
                calls[0].pos,
                "full-text functions search the indexed documents: put this WHERE directly after FROM "
                "(only WHERE and SORT may come between)",
            )


def _expressions(command: ast.Command) -> Iterator[tuple[ast.Expr, bool]]:
    """Every expression of a command, with whether it is a filter condition."""
    if isinstance(command, ast.Where):
        yield command.condition, True
    elif isinstance(command, (ast.Eval, ast.Row)):
        for assign in command.fields:
            yield assign.expr, False
    elif isinstance(command, ast.Stats):
        for agg in command.aggs:
            yield agg.assign.expr, False
            if agg.where is not None:
                yield agg.where, True
        for assign in command.by:
            yield assign.expr, False
    elif isinstance(command, ast.Sort):
        for key in command.keys:
            yield key.expr, False


def _check_parents(condition: ast.Expr, source: str) -> None:
    for parent in ast.walk(condition):
        for child in ast.children(parent):
            if not (isinstance(child, ast.Call) and child.name in FULL_TEXT):
                continue
            if _allowed_parent(parent):
                continue
            label = FULL_TEXT[child.name].label
            raise EsqlError(
                f"Invalid condition [{_text(source, condition)}]. [{label}] function can't be used with "
                f"{_operator_name(parent)}",
                source,
                child.pos,
                f"combine {label}(...) only with AND, OR, NOT or a comparison",
            )


def _allowed_parent(node: ast.Expr) -> bool:
    if isinstance(node, ast.Binary):
        return node.op in _LOGICAL or node.op in ast.COMPARISONS
    if isinstance(node, ast.Unary):
        return node.op == "not"
    return isinstance(node, ast.Call) and node.name in FULL_TEXT


def _operator_name(node: ast.Expr) -> str:
    if isinstance(node, ast.Call):
        return node.name.upper()
    if isinstance(node, ast.Cast):
        return "::" + node.type_name
    if isinstance(node, ast.In):
        return "IN"
    if isinstance(node, ast.IsNull):
        return "IS NULL"
    if isinstance(node, ast.Like):
        return "RLIKE" if node.regex else "LIKE"
    return getattr(node, "op", type(node).__name__).upper()


def _blocker(before: tuple[ast.Command, ...]) -> ast.Command | None:
    """The nearest earlier command a full-text search may not follow."""
    for command in reversed(before):
        if not isinstance(command, _ALLOWED_BEFORE):
            return command
    return None


def _command_word(source: str, command: ast.Command) -> str:
    found = re.match(r"[A-Za-z_]+", source[getattr(command, "pos", 0) :])
    return found.group(0).upper() if found else type(command).__name__.upper()


# --------------------------------------------------------------------------- evaluation


def compile_full_text(
    call: ast.Call, source: str, field_types: object, now: datetime
) -> Callable[[Mapping | None], bool]:
    """``document -> bool`` for one call; a row without a source document matches nothing."""
    spec = FULL_TEXT[call.name]
    literal = _query_string(call, source)
    fields = field_types if _is_schema(field_types) else None
    text = str(literal.value)
    try:
        if spec.language == "kql":
            from detection import kql

            predicate = kql.compile(text, fields, now=now)
        else:
            from detection import lucene

            predicate = lucene.compile(text, fields, now=now)
    except ValueError as exc:  # KqlError / LuceneError: located in the query string
        raise _relocated(exc, spec, literal, source) from None

    def matches(document: Mapping | None) -> bool:
        return document is not None and bool(predicate(document))

    return matches


def full_text_fields(call: ast.Call, source: str) -> list[str]:
    """The fields a call's query string reads (wildcard names as patterns), sorted."""
    spec = FULL_TEXT[call.name]
    node = parsed_query(call, source)
    if spec.language == "kql":
        from detection import kql

        return kql.field_names(node)
    from detection import lucene

    return lucene.field_names(node)


def full_text_field_refs(call: ast.Call, source: str) -> list[tuple[str, int]]:
    """(name, offset in ``source``) of each named field the query string reads, in order.

    Wildcard names and the fields inside a nested query (relative names) are left out: they are
    not one mapped field each.
    """
    literal = _query_string(call, source)
    out: list[tuple[str, int]] = []
    stack = [parsed_query(call, source)]
    while stack:
        node = stack.pop()
        name_node = getattr(node, "path", None) or getattr(node, "field", None)
        if name_node is not None and not getattr(name_node, "is_wildcard", False):
            span = getattr(name_node, "span", None)
            # Without a span (a Lucene field:(a OR b) group), the string's start stands in.
            offset = literal_offset(source, literal, span[0]) if span else literal.pos
            if (str(name_node.text), offset) not in out:
                out.append((str(name_node.text), offset))
        if type(node).__name__ != "Nested":
            stack.extend(reversed(list(node.children())))
    return out


def parsed_query(call: ast.Call, source: str) -> Any:
    """The call's query string parsed by its language; syntax errors are located in ``source``."""
    spec = FULL_TEXT[call.name]
    literal = _query_string(call, source)
    try:
        return _parse(spec.language, str(literal.value))
    except ValueError as exc:
        raise _relocated(exc, spec, literal, source) from None


@functools.lru_cache(maxsize=512)
def _parse(language: str, text: str) -> Any:
    if language == "kql":
        from detection import kql

        return kql.parse(text)
    from detection import lucene

    return lucene.parse(text)


def _relocated(exc: ValueError, spec: FullText, literal: ast.Literal, source: str) -> EsqlError:
    inner = getattr(exc, "offset", 0)
    message = getattr(exc, "message", str(exc))
    return EsqlError(
        f"invalid {spec.label} query: {message}",
        source,
        literal_offset(source, literal, inner),
        getattr(exc, "hint", None),
    )


def literal_offset(source: str, literal: ast.Literal, index: int) -> int:
    """Where character ``index`` of a string literal's value sits in the query text."""
    if literal.triple:
        return literal.pos + 3 + index
    at, seen = literal.pos + 1, 0
    last = max(literal.end - 1, at)
    while seen < index and at < last:
        at += 2 if source[at] == "\\" else 1  # an escape is two characters of text, one of value
        seen += 1
    return at


def _is_schema(field_types: object) -> bool:
    if isinstance(field_types, Mapping):
        return True
    from detection.fields import FieldSchema

    return isinstance(field_types, FieldSchema)


# --------------------------------------------------------------------------- helpers


def _is_map(node: ast.Expr) -> bool:
    return isinstance(node, ast.Literal) and node.kind == "map"


def _pos(node: object) -> int:
    return getattr(node, "pos", 0)


def _text(source: str, node: object) -> str:
    text = source[_pos(node) : getattr(node, "end", 0)]
    return text or getattr(node, "render", lambda: "")()
