"""Fixture files: named test cases for one rule, loaded and checked into ``Case`` objects.

A fixture file mirrors its rule's path (``fixtures/aws/x.yaml`` tests ``rules/aws/x.yaml``) or
names the rule with ``rule: <rule_id>``. Each case gives its events inline (``event``/``events``)
or as a ``.json``/``.ndjson`` file inside the repository (``events_file``), and its expectation.
Every problem is a located diagnostic (codes F1xx), never a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson

from detection.diagnostics import DetectionError, Diagnostic, Location, sort_diagnostics
from detection.loader import display, parse_document, read_text
from detection.sourcemap import SourceMap
from detection.validation import schema_diagnostics

FIXTURE_SUFFIXES = (".yaml", ".yml", ".toml")
EVENT_FILE_SUFFIXES = (".json", ".ndjson")
SCHEMA = "fixture.schema.json"

CODE_EVENTS_SOURCE = "F106"  # not exactly one of event / events / events_file
CODE_EXPECT = "F107"  # an expectation that does not fit the case
CODE_DUPLICATE_CASE = "F108"
CODE_EVENTS_FILE = "F110"  # missing or unreadable events file
CODE_OUTSIDE_REPO = "F111"
CODE_BAD_JSON = "F112"
CODE_NOT_DOCUMENT = "F113"  # JSON that is not a document (object)
CODE_NO_RULE = "F114"  # fixture whose rule cannot be found
CODE_FIELD_CONFLICT = "F116"  # a field that is both a value and an object
CODE_NOW = "F117"  # a case's `now` that is not a date-time

_EVENT_SOURCES = ("event", "events", "events_file")
_EXPECT_WORDS = ("alert", "no_alert")
# Keys of an Elasticsearch search hit besides _source; a record with only these is unwrapped.
_HIT_KEYS = {"fields", "sort", "highlight", "inner_hits", "matched_queries"}


@dataclass(frozen=True)
class Expectation:
    """How many alerts a case must raise: ``alert`` is exactly 1 for its one event."""

    alerts: int
    word: str | None = None  # "alert" / "no_alert" as written, None for {alerts: N}
    # {alerts: [...]}: what each alert must be - {events: [0, 2]} and/or {group: {field: value}}
    # (see detection.runners.expect); empty when only the count is given.
    details: tuple[Mapping[str, Any], ...] = ()

    @property
    def positive(self) -> bool:
        return self.alerts > 0

    def describe(self) -> str:
        if self.word == "alert":
            return "an alert"
        if self.alerts == 0:
            return "no alert"
        text = f"{self.alerts} alert" + ("" if self.alerts == 1 else "s")
        if self.details:
            from detection.runners.expect import describe_wanted

            text += " (" + " / ".join(describe_wanted(d) for d in self.details) + ")"
        return text


@dataclass(frozen=True)
class Case:
    """One named case: its events (defaults merged in) and its expectation."""

    name: str
    expect: Expectation
    events: tuple[dict[str, Any], ...]
    location: Location  # where the case starts in the fixture file
    fixture: str  # the fixture file as shown to users
    description: str | None = None
    events_file: str | None = None  # as shown to users, when events came from a file
    now: str | None = None  # the rule run's time (see detection.runners.window), as written

    @property
    def positive(self) -> bool:
        return self.expect.positive


@dataclass(frozen=True)
class FixtureFile:
    path: Path
    display_path: str
    rule_id: str | None  # as declared with ``rule:``; None when the path says which rule
    cases: tuple[Case, ...]
    rule_location: Location | None = None
    description: str | None = None


# --------------------------------------------------------------------------- discovery


def discover_fixture_files(paths: Iterable[Path]) -> list[Path]:
    """Fixture files under the given files or folders, sorted, skipping hidden folders."""
    found: set[Path] = set()
    for base in paths:
        base = Path(base)
        if base.is_file():
            if base.suffix in FIXTURE_SUFFIXES:
                found.add(base)
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            found.update(Path(dirpath) / n for n in filenames
                         if n.endswith(FIXTURE_SUFFIXES) and not n.startswith("."))
    return sorted(found)


def mirrored_key(path: Path, base: Path) -> tuple[str, ...] | None:
    """The path of a rule or fixture relative to its folder, without suffix: ("aws", "x")."""
    try:
        rel = Path(path).resolve().relative_to(Path(base).resolve())
    except ValueError:
        return None
    return (*rel.parent.parts, rel.stem)


def fixture_candidates(rule_path: Path, rules_dirs: Sequence[Path], fixtures_dir: Path) -> list[Path]:
    """Where a rule's mirrored fixture file may be (one per accepted suffix)."""
    for base in rules_dirs:
        key = mirrored_key(rule_path, base)
        if key is not None:
            stem = Path(fixtures_dir, *key)
            return [stem.with_name(stem.name + s) for s in FIXTURE_SUFFIXES]
    return []


# --------------------------------------------------------------------------- loading


def load_fixture_file(path: Path | str, root: Path | str) -> FixtureFile:
    """Load and check one fixture file; raise DetectionError listing every problem.

    ``root`` is the repository root: event files must stay inside it.
    """
    path = Path(path)
    shown = display(path)
    text = read_text(path, shown)
    document, source = parse_document(text, path, shown)
    if not isinstance(document, dict):
        raise DetectionError([Diagnostic(Location(shown, 1, 1), "F105",
                                         "a fixture file must be a mapping with a 'cases' list",
                                         hint="start the file with `cases:` followed by a list of cases")])
    problems = _schema_problems(document, source, shown)
    cases: list[Case] = []
    defaults = document.get("defaults") if isinstance(document.get("defaults"), dict) else {}
    try:
        base_event = expand_dotted(defaults or {})
    except FieldConflict as exc:
        problems.append(_conflict(exc, Location(shown, *source.value(("defaults",)))))
        base_event = {}
    seen: dict[str, Location] = {}
    for index, raw in enumerate(document.get("cases") or []):
        if not isinstance(raw, dict):
            continue  # reported by the schema
        case_problems, case = _load_case(raw, index, path, shown, source, Path(root), base_event)
        problems.extend(case_problems)
        if case is None:
            continue
        if case.name in seen:
            problems.append(Diagnostic(case.location, CODE_DUPLICATE_CASE,
                                       f"case name {case.name!r} is already used at line {seen[case.name].line}",
                                       hint="give every case in a file its own name"))
            continue
        seen[case.name] = case.location
        cases.append(case)
    if problems:
        raise DetectionError(sort_diagnostics(problems))
    rule_id = document.get("rule")
    return FixtureFile(
        path=path,
        display_path=shown,
        rule_id=str(rule_id) if rule_id is not None else None,
        cases=tuple(cases),
        rule_location=Location(shown, *source.value(("rule",))) if rule_id is not None else None,
        description=document.get("description"),
    )


def _schema_problems(document: dict, source: SourceMap, shown: str) -> list[Diagnostic]:
    """Schema findings under the fixture family: S10x becomes F10x."""
    expect_spots = set()
    for index, raw in enumerate(document.get("cases") or []):
        if isinstance(raw, dict) and "expect" in raw:
            expect_spots.add(Location(shown, *source.value(("cases", index, "expect"))))
    out = []
    for diag in schema_diagnostics(document, source, shown, SCHEMA):
        # A wrong expectation gets a specific message from _expectation() instead.
        if diag.code == "S105" and diag.location in expect_spots:
            continue
        if diag.code == "S101" and "'expect'" in diag.message:
            diag = replace(diag, hint="add `expect: alert`, `expect: no_alert` or `expect: {alerts: N}`")
        out.append(replace(diag, code="F" + diag.code[1:]))
    return out


def _load_case(raw: dict, index: int, path: Path, shown: str, source: SourceMap, root: Path,
               base_event: Mapping[str, Any]) -> tuple[list[Diagnostic], Case | None]:
    here = ("cases", index)
    location = Location(shown, *source.value(here))
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        return [], None  # the schema reports it
    given = [k for k in _EVENT_SOURCES if k in raw]
    if len(given) != 1:
        what = "has none of" if not given else "has more than one of"
        where = Location(shown, *source.key(here + (given[1],))) if len(given) > 1 else location
        return [Diagnostic(where, CODE_EVENTS_SOURCE, f"case {name!r} {what} event, events, events_file",
                           hint="give the case's events in exactly one way: `event:` (one), `events:` (a list) "
                                "or `events_file:` (a .json/.ndjson file)")], None
    problems: list[Diagnostic] = []
    kind = given[0]
    events_file_shown = None
    raw_events: list[tuple[Any, Location]] = []
    if kind == "event":
        raw_events = [(raw["event"], Location(shown, *source.value(here + ("event",))))]
    elif kind == "events" and isinstance(raw["events"], list):
        raw_events = [(e, Location(shown, *source.value(here + ("events", i)))) for i, e in enumerate(raw["events"])]
    elif kind == "events_file" and isinstance(raw["events_file"], str):
        spot = Location(shown, *source.value(here + ("events_file",)))
        try:
            target = resolve_inside(path.parent, raw["events_file"], root, spot)
            events_file_shown = display(target)
            raw_events = read_event_file(target, events_file_shown)
        except DetectionError as exc:
            problems.extend(exc.diagnostics)
    events: list[dict[str, Any]] = []
    for value, spot in raw_events:
        if not isinstance(value, dict):
            continue  # inline: reported by the schema; files: read_event_file checked
        try:
            events.append(overlay(base_event, expand_dotted(value)))
        except FieldConflict as exc:
            problems.append(_conflict(exc, spot))
    expect, expect_problem = _expectation(raw.get("expect"), len(events), name,
                                          Location(shown, *source.value(here + ("expect",))))
    if expect_problem:
        problems.append(expect_problem)
    now = raw.get("now")
    if now is not None:
        from detection.runners.window import WindowError, parse_now

        try:
            parse_now(now)
        except WindowError as exc:
            problems.append(Diagnostic(Location(shown, *source.value(here + ("now",))), CODE_NOW,
                                       f"case {name!r}: {exc}",
                                       hint="write the run time as an ISO 8601 date-time, e.g. now: 2024-05-01T12:00:00Z"))
    if problems or expect is None or (not events and kind != "events_file"):
        return problems, None
    if not events:
        return [Diagnostic(Location(shown, *source.value(here + ("events_file",))), CODE_NOT_DOCUMENT,
                           f"events file {events_file_shown} holds no events",
                           hint="add at least one JSON document to the file")], None
    return [], Case(name=name, expect=expect, events=tuple(events), location=location, fixture=shown,
                    description=raw.get("description"), events_file=events_file_shown,
                    now=str(now) if now is not None else None)


def _expectation(value: Any, count: int, name: str, spot: Location) -> tuple[Expectation | None, Diagnostic | None]:
    if value is None:
        return None, None  # missing: reported by the schema
    if isinstance(value, str):
        if value not in _EXPECT_WORDS:
            import difflib

            close = difflib.get_close_matches(value.lower().replace(" ", "_").replace("-", "_"), _EXPECT_WORDS, n=1)
            hint = f"did you mean '{close[0]}'?" if close else "write alert, no_alert or {alerts: N}"
            return None, Diagnostic(spot, CODE_EXPECT, f"case {name!r}: unknown expectation {value!r}", hint=hint)
        if value == "alert" and count > 1:
            return None, Diagnostic(spot, CODE_EXPECT,
                                    f"case {name!r} has {count} events; `expect: alert` is for a single event",
                                    hint="state the exact number: `expect: {alerts: N}`")
        return Expectation(1 if value == "alert" else 0, value), None
    if isinstance(value, dict):
        alerts = value.get("alerts")
        if set(value) == {"alerts"} and isinstance(alerts, int) and not isinstance(alerts, bool) and alerts >= 0:
            return Expectation(alerts), None
        if set(value) == {"alerts"} and isinstance(alerts, list):
            return _detailed(alerts, count, name, spot)
    return None, Diagnostic(spot, CODE_EXPECT, f"case {name!r}: expect must be alert, no_alert or {{alerts: N}}",
                            hint="for an exact count write `expect: {alerts: 2}` (a whole number, 0 or more)")


def _detailed(items: list, count: int, name: str, spot: Location) -> tuple[Expectation | None, Diagnostic | None]:
    """``expect: {alerts: [{events: [0, 2]}, {group: {...}}]}``: one entry per expected alert."""
    for item in items:
        ok = isinstance(item, dict) and item and set(item) <= {"events", "group"}
        events = item.get("events", []) if ok else None
        if ok and not (isinstance(events, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in events)):
            ok = False
        if ok and not isinstance(item.get("group", {}), dict):
            ok = False
        if not ok:
            return None, Diagnostic(spot, CODE_EXPECT, f"case {name!r}: each listed alert is {{events: [...]}} "
                                    "and/or {group: {field: value}}",
                                    hint="e.g. `expect: {alerts: [{events: [0, 2]}, {group: {source.ip: 192.0.2.1}}]}`")
        bad = [i for i in events if not 0 <= i < count]
        if bad:
            return None, Diagnostic(spot, CODE_EXPECT, f"case {name!r}: event {bad[0]} does not exist "
                                    f"(the case has {count} event(s), numbered from 0)",
                                    hint="events are numbered by position in the case, starting at 0")
    return Expectation(len(items), None, tuple(items)), None


# --------------------------------------------------------------------------- event files


def resolve_inside(base: Path, relative: str, root: Path, spot: Location) -> Path:
    """``relative`` (from a fixture file) as a path, refusing anything outside the repository."""
    if Path(relative).is_absolute() or relative.startswith(("~", "\\")):
        raise DetectionError([Diagnostic(spot, CODE_OUTSIDE_REPO, f"events_file {relative!r} is an absolute path",
                                         hint="write the path relative to the fixture file")])
    target = (base / relative).resolve()
    if not target.is_relative_to(Path(root).resolve()):
        raise DetectionError([Diagnostic(spot, CODE_OUTSIDE_REPO,
                                         f"events_file {relative!r} leaves the repository ({display(target)})",
                                         hint="keep event files inside the repository, e.g. next to the fixture file")])
    if not target.is_file():
        raise DetectionError([Diagnostic(spot, CODE_EVENTS_FILE, f"events_file {relative!r} does not exist",
                                         hint=f"create {display(target)} or fix the path (it is relative to the fixture file)")])
    return target


def read_event_file(path: Path, shown: str) -> list[tuple[Any, Location]]:
    """Documents of a .json or .ndjson file with their positions; hits are unwrapped to _source."""
    text = read_text(path, shown)
    if path.suffix == ".ndjson":
        return _read_ndjson(text, shown)
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise DetectionError([Diagnostic(Location(shown, exc.lineno, exc.colno), CODE_BAD_JSON,
                                         f"invalid JSON: {exc.msg}", hint="fix the JSON syntax at this position")]) from None
    whole = Location(shown, 1, 1)
    if isinstance(data, dict) and isinstance(data.get("hits"), dict):
        data = data["hits"].get("hits", [])  # an Elasticsearch search response
    records = data if isinstance(data, list) else [data]
    out = []
    for number, record in enumerate(records, start=1):
        document = _unwrap_hit(record)
        if not isinstance(document, dict):
            where = "the file" if not isinstance(data, list) else f"item {number}"
            raise DetectionError([Diagnostic(whole, CODE_NOT_DOCUMENT, f"{where} is not a JSON object (a document)",
                                             hint="a .json events file holds one document, a list of documents "
                                                  "or a search response")])
        out.append((document, whole))
    return out


def _read_ndjson(text: str, shown: str) -> list[tuple[Any, Location]]:
    out = []
    problems = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            problems.append(Diagnostic(Location(shown, number, exc.pos + 1), CODE_BAD_JSON,
                                       f"invalid JSON on line {number}: {exc.msg}",
                                       hint="each line of an .ndjson file is one complete JSON document"))
            continue
        document = _unwrap_hit(record)
        if not isinstance(document, dict):
            problems.append(Diagnostic(Location(shown, number, 1), CODE_NOT_DOCUMENT,
                                       f"line {number} is not a JSON object (a document)",
                                       hint="each line of an .ndjson file is one document: {...}"))
            continue
        out.append((document, Location(shown, number, 1)))
    if problems:
        raise DetectionError(problems)
    return out


def _unwrap_hit(record: Any) -> Any:
    if isinstance(record, dict) and isinstance(record.get("_source"), dict):
        if all(k.startswith("_") or k in _HIT_KEYS for k in record):
            return record["_source"]
    return record


# --------------------------------------------------------------------------- documents


class FieldConflict(ValueError):
    """A field written both as a value and as an object (Elasticsearch rejects such a document)."""

    def __init__(self, field_name: str):
        super().__init__(field_name)
        self.field_name = field_name


def _conflict(exc: FieldConflict, spot: Location) -> Diagnostic:
    return Diagnostic(spot, CODE_FIELD_CONFLICT,
                      f"field {exc.field_name!r} is given both as a value and as an object",
                      hint="Elasticsearch would reject this document; keep one of the two forms")


def expand_dotted(document: Mapping[str, Any]) -> dict[str, Any]:
    """Nested form of a document whose keys may be dotted ("event.action") or nested.

    Two spellings of the same field combine the way Elasticsearch indexes them: their
    values form one array.
    """
    dotted = any("." in k for k in document if isinstance(k, str))
    out: dict[str, Any] = {}
    for key, value in document.items():
        key = str(key)
        try:
            value = _expand_value(value)
        except FieldConflict as exc:
            raise FieldConflict(f"{key}.{exc.field_name}") from None
        if not dotted:  # the common case: nothing to split or combine
            out[key] = value
            continue
        parts = key.split(".") if "." in key and "" not in key.split(".") else [key]
        for part in reversed(parts[1:]):
            value = {part: value}
        _combine(out, parts[0], value, parts[0])
    return out


def _expand_value(value: Any) -> Any:
    # Exact type checks: documents come from YAML, TOML or JSON parsers, which build plain
    # dicts and lists, and these checks run for every value of every event.
    kind = type(value)
    if kind is dict:
        return expand_dotted(value)
    if kind is list:
        return [_expand_value(v) for v in value]
    if isinstance(value, Mapping):
        return expand_dotted(value)
    return value


def _combine(target: dict[str, Any], key: str, value: Any, name: str) -> None:
    if key not in target:
        target[key] = value
        return
    old = target[key]
    if isinstance(old, dict) and isinstance(value, dict):
        for k, v in value.items():
            _combine(old, k, v, f"{name}.{k}")
    elif isinstance(old, dict) or isinstance(value, dict):
        raise FieldConflict(name)
    else:
        target[key] = (old if isinstance(old, list) else [old]) + (value if isinstance(value, list) else [value])


def overlay(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """``top`` over ``base``: objects merge, other values replace, null removes the field."""
    out = dict(base)
    for key, value in top.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = overlay(out[key], value)
        else:
            out[key] = value
    return out


@dataclass
class FixtureSet:
    """Fixture files after loading: the good ones, and the problems of the others (by file)."""

    files: list[FixtureFile] = field(default_factory=list)
    problems: dict[Path, list[Diagnostic]] = field(default_factory=dict)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return sort_diagnostics(d for diags in self.problems.values() for d in diags)


def load_fixture_files(paths: Iterable[Path], root: Path | str) -> FixtureSet:
    """Load every fixture file under ``paths``, collecting problems instead of stopping."""
    result = FixtureSet()
    for path in discover_fixture_files(paths):
        try:
            result.files.append(load_fixture_file(path, root))
        except DetectionError as exc:
            result.problems[path] = exc.diagnostics
    return result
