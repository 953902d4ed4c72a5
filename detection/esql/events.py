"""Events as ES|QL sees them: flattened columns, typed where the type is known, chosen by index.

An event is a JSON-like mapping, nested (``{"process": {"name": ...}}``), flat with dotted keys
(``{"process.name": ...}``) or a mix; a search hit (``{"_index", "_id", "_source": {...}}``) is
read through its ``_source``. Top-level keys starting with ``_`` that Elasticsearch treats as
metadata become columns only when ``FROM ... METADATA`` asks for them.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal

from detection.esql.errors import EsqlError
from detection.esql.values import IP, EvalProblem, TypeProblem, as_datetime, as_ip, is_number, to_text

METADATA_FIELDS = frozenset(
    {"_id", "_index", "_version", "_score", "_source", "_ignored", "_index_mode", "_tier"}
)

# Without a mapping, the ECS timestamp fields are still known to be dates.
DEFAULT_FIELD_TYPES: Mapping[str, str] = {
    "@timestamp": "date",
    "event.created": "date",
    "event.ingested": "date",
    "event.start": "date",
    "event.end": "date",
}
_TEXT_TYPES = frozenset({"keyword", "text", "wildcard", "constant_keyword", "match_only_text", "version"})
_WHOLE_TYPES = frozenset({"long", "integer", "short", "byte", "unsigned_long"})
_REAL_TYPES = frozenset({"double", "float", "half_float", "scaled_float"})
_BACKING_INDEX = re.compile(r"\.ds-(?P<stream>.+)-\d{4}\.\d{2}\.\d{2}-\d{6}\Z")


# The row key holding the event a FROM row came from: full-text functions (KQL, QSTR) search
# the document as indexed, not the columns. No column can have this name.
DOCUMENT = "\x00document"


class LoadedEvent:
    __slots__ = ("document", "fields", "metadata")

    def __init__(self, fields: dict[str, object], metadata: dict[str, object], document: Mapping | None = None):
        self.fields = fields
        self.metadata = metadata
        self.document = document


def type_lookup(field_types: object) -> Callable[[str], str | None]:
    """Field name -> Elasticsearch type, from a mapping or a schema with ``type_of(name)``."""
    if field_types is None:
        field_types = DEFAULT_FIELD_TYPES
    type_of = getattr(field_types, "type_of", None)
    if callable(type_of):
        return type_of
    if isinstance(field_types, Mapping):
        return field_types.get
    raise EsqlError(f"field_types must be a mapping or a field schema, not {type(field_types).__name__}")


def load_events(events: Iterable[object], field_types: object, warn) -> list[LoadedEvent]:
    """Flatten and type every event; ``warn(message, field)`` records values that cannot be read."""
    type_of = type_lookup(field_types)
    loaded = []
    for number, event in enumerate(events, 1):
        if not isinstance(event, Mapping):
            raise EsqlError(
                f"event #{number} is a {type(event).__name__}, not an object",
                hint="each event is a JSON object of fields",
            )
        loaded.append(load_event(event, type_of, warn))
    return loaded


def load_event(event: Mapping, type_of: Callable[[str], str | None], warn) -> LoadedEvent:
    source = event.get("_source") if isinstance(event.get("_source"), Mapping) else None
    metadata = {k: event[k] for k in METADATA_FIELDS if k in event and k != "_source"}
    body = source if source is not None else {k: v for k, v in event.items() if k not in METADATA_FIELDS}
    collected: dict[str, list] = {}
    _flatten(body, "", collected)
    fields: dict[str, object] = {}
    for name, values in collected.items():
        kind = type_of(name)
        if kind:
            values = _typed(values, kind, name, warn)
        values = _storage_order(values)
        if values:
            fields[name] = values[0] if len(values) == 1 else values
    return LoadedEvent(fields, metadata, body)


def _flatten(value: object, prefix: str, out: dict[str, list]) -> None:
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool:  # the common case, first
        if prefix:
            out.setdefault(prefix, []).append(value)
    elif kind is dict or isinstance(value, Mapping):
        for key, child in value.items():  # type: ignore[union-attr]
            _flatten(child, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _flatten(item, prefix, out)
    elif value is None or not prefix:
        return  # a null is no value, as in an indexed document
    else:
        out.setdefault(prefix, []).append(_scalar(value))


def _scalar(value: object) -> object:
    if isinstance(value, (str, bool, int, float)) or isinstance(value, IP):
        return value
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return str(value)


def _typed(values: list, kind: str, name: str, warn) -> list:
    out = []
    for value in values:
        try:
            if kind in ("date", "date_nanos"):
                out.append(as_datetime(value))
            elif kind == "ip":
                out.append(as_ip(value))
            elif kind in _TEXT_TYPES:
                out.append(value if isinstance(value, str) else to_text(value))
            elif kind in _WHOLE_TYPES:
                out.append(int(value) if is_number(value) else int(str(value)))
            elif kind in _REAL_TYPES:
                out.append(float(value))  # type: ignore[arg-type]
            elif kind == "boolean":
                out.append(value if isinstance(value, bool) else str(value).lower() == "true")
            else:
                out.append(value)
        except (EvalProblem, TypeProblem, ValueError, TypeError, OverflowError):
            warn(f"value [{value}] of field [{name}] is not a valid {kind}; it is ignored", name)
    return out


def _storage_order(values: list) -> list:
    """Multi-values as Elasticsearch doc values hold them: keywords sorted and de-duplicated,
    numbers sorted (their duplicates kept); anything else in document order."""
    if len(values) < 2:
        return values
    if all(isinstance(v, str) for v in values):
        return sorted(set(values))
    if all(is_number(v) for v in values):
        return sorted(values)
    return values


# --------------------------------------------------------------------------- FROM index patterns


def index_matches(index: str, sources: Iterable[str]) -> bool:
    """Whether FROM's index patterns (with ``-`` exclusions) select an event from ``index``."""
    names = [index]
    backing = _BACKING_INDEX.match(index)
    if backing:
        names.append(backing["stream"])  # a data stream's backing index answers to the stream
    included = excluded = False
    for source in sources:
        pattern = source.split(":", 1)[1] if ":" in source else source  # remote cluster prefix
        negative = pattern.startswith("-")
        pattern = pattern[1:] if negative else pattern
        hit = any(_glob(pattern, name) for name in names)
        if hit and negative:
            excluded = True
        elif hit:
            included = True
    return included and not excluded


def _glob(pattern: str, name: str) -> bool:
    # Only * is a wildcard in index patterns.
    return fnmatch.fnmatchcase(name, pattern.replace("[", "[[]").replace("?", "[?]"))
