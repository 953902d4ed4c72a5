"""Run rules over recorded events (NDJSON, gzipped or not) and count their alerts.

The stream is read in chunks of whole lines (``CHUNK_SIZE`` bytes), so memory stays flat
whatever the input size. Each chunk goes through three filters before a predicate runs: the
byte prefilter (:mod:`detection.prefilter`) drops lines no rule can match without decoding them,
orjson decodes the rest, and the rule index (:mod:`detection.rule_index`) hands each event only
to the rules that could match it. Chunks are spread over worker processes, at most two per
worker in flight; results come back in input order, so alerts are listed as the plain loop
(:func:`plain_backtest`) lists them: by file, line, then rule order.

Per-event rules (KQL and Lucene query rules, EQL event queries) alert on each matching line;
``max_signals`` is not applied to them: a backtest counts every match, not one rule run's worth.

Multi-event rules (threshold, new_terms, ES|QL, EQL sequences and samples, EQL event queries
with pipes) are *scheduled*: the same streaming pass keeps, per rule, only the events that can
take part in one of its runs (:mod:`detection.backtest_collect`) with their file and line, and
the main process then replays the rule's runs every ``interval`` over them
(:mod:`detection.backtest_schedule`). The events kept are held in memory, so their total is
capped (``max_collected``): past the cap the rule holding the most is dropped with a located
error instead of exhausting memory. Rules with ``filters``, machine learning and indicator
match rules are reported as not supported.
"""

from __future__ import annotations

import gc
import gzip
import json
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from detection.diagnostics import DetectionError, Diagnostic, Location, Severity
from detection.event_files import CODE_BAD_JSON, CODE_NOT_OBJECT, CODE_UNREADABLE
from detection.kql.requirements import RequiredTerms
from detection.loader import display
from detection.model import RuleFile
from detection.prefilter import Prefilter, build_prefilter, count_lines
from detection.rule_index import IndexedRule, RuleIndex
from detection.runners.window import format_ns, to_ns

CHUNK_SIZE = 4 << 20  # bytes per task: big enough to amortise the hand-over, small enough to spread
EVENT_SUFFIXES = (".ndjson", ".jsonl", ".ndjson.gz", ".jsonl.gz")
MAX_REPORTED_ERRORS = 20  # bad lines listed in full; the rest are counted
CODE_NO_EVENTS = "E204"  # a folder with no event files
CODE_EVALUATION = "E207"  # a predicate raised on an event
CODE_TOO_MANY = "E209"  # a scheduled rule collected more events than the cap allows
DEFAULT_MAX_COLLECTED = 1_000_000  # events held for scheduled rules, all rules together


@dataclass(frozen=True)
class RuleRef:
    """What the report needs of a rule (small and picklable)."""

    rule_id: str
    name: str
    path: str


@dataclass(frozen=True)
class Skipped:
    rule: RuleRef
    reason: str


@dataclass
class Matcher:
    """Everything a worker needs to turn a chunk of lines into hits."""

    index: RuleIndex
    prefilter: Prefilter
    use_index: bool = True
    collect: frozenset[int] = frozenset()  # positions of scheduled rules: their events are kept

    def match(self, event: Mapping) -> list[int]:
        if self.use_index:
            return self.index.matching_positions(event)
        predicates = self.index.predicates
        return [p for p in range(len(predicates)) if predicates[p](event)]

    def scan(self, chunk: bytes, keep_events: bool) -> ChunkResult:
        result = ChunkResult(lines=count_lines(chunk))
        match = self.index.matching_positions if self.use_index else self.match
        hits, decoded, collect = result.hits, 0, self.collect
        fast_loads, fast_error = orjson.loads, orjson.JSONDecodeError
        for number, line in self.prefilter.lines(chunk):
            try:
                event = fast_loads(line)
            except fast_error:
                # orjson is stricter than the json module (NaN, lone surrogates, huge integers):
                # fall back so that a line means the same here as in every other command.
                try:
                    event = json.loads(line)
                except ValueError as exc:
                    if line.strip():
                        result.add_error(number, getattr(exc, "colno", 1), CODE_BAD_JSON, f"invalid JSON: {_reason(exc)}")
                    continue
            decoded += 1
            if event.__class__ is not dict:
                result.add_error(number, 1, CODE_NOT_OBJECT, f"an event is a JSON object, not {type(event).__name__}")
                continue
            try:
                positions = match(event)
            except Exception as exc:  # noqa: BLE001 - one odd event must not end a long run
                result.add_error(number, 1, CODE_EVALUATION, f"evaluating the rules failed on this event: {exc}")
                continue
            if positions:
                for position in positions:
                    hits.append((number, position))
                if keep_events or (collect and not collect.isdisjoint(positions)):
                    result.events[number] = line.strip()
        result.decoded = decoded
        return result


@dataclass
class ChunkResult:
    lines: int = 0
    decoded: int = 0
    hits: list[tuple[int, int]] = field(default_factory=list)  # (line in chunk, rule position)
    events: dict[int, bytes] = field(default_factory=dict)  # raw lines of hits, when asked for
    errors: list[tuple[int, int, str, str]] = field(default_factory=list)  # (line, column, code, message)
    error_count: int = 0

    def add_error(self, number: int, column: int, code: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append((number, column, code, message))


@dataclass
class ScheduledRule:
    """A multi-event rule: its prepared runner and what the first pass keeps for it."""

    rule: RuleFile
    detector: Any
    collects: str  # what the first pass keeps, in words


@dataclass
class BacktestPlan:
    """The selected rules, compiled; ``skipped`` are the ones a backtest cannot run.

    ``scheduled`` maps the positions of multi-event rules (in ``rules``) to their runners.
    """

    rules: list[RuleRef]
    matcher: Matcher
    skipped: list[Skipped] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    scheduled: dict[int, ScheduledRule] = field(default_factory=dict)


@dataclass
class Schedule:
    """How a scheduled rule's runs went (see :mod:`detection.backtest_schedule`)."""

    kind: str
    interval: str
    collects: str
    collected: int = 0
    runs: int = 0
    first_run: str | None = None
    last_run: str | None = None
    repeats: int = 0
    untimed: int = 0
    partial_history: int = 0
    refused: bool = False
    seconds: float = 0.0  # decoding the kept events and replaying the runs

    def to_json(self) -> dict:
        return {**self.__dict__, "seconds": round(self.seconds, 3)}



@dataclass
class RuleCount:
    rule: RuleRef
    alerts: int = 0
    schedule: Schedule | None = None  # multi-event rules only


@dataclass
class BacktestResult:
    counts: list[RuleCount]
    skipped: list[Skipped]
    files: list[str]
    lines: int = 0
    decoded: int = 0
    bytes_read: int = 0
    seconds: float = 0.0
    jobs: int = 1
    prefilter: str = "off"
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def alerts(self) -> int:
        return sum(c.alerts for c in self.counts)

    def to_json(self) -> dict:
        return {
            "files": self.files,
            "lines": self.lines,
            "decoded": self.decoded,
            "bytes": self.bytes_read,
            "seconds": round(self.seconds, 3),
            "jobs": self.jobs,
            "prefilter": self.prefilter,
            "alerts": self.alerts,
            "rules": [{"rule_id": c.rule.rule_id, "name": c.rule.name, "path": c.rule.path, "alerts": c.alerts}
                      | ({"schedule": c.schedule.to_json()} if c.schedule is not None else {})
                      for c in self.counts],
            "not_supported": [{"rule_id": s.rule.rule_id, "name": s.rule.name, "path": s.rule.path,
                               "reason": s.reason} for s in self.skipped],
            "diagnostics": [d.to_json() for d in self.diagnostics],
        }


# --------------------------------------------------------------------------- preparing rules


def _reason(exc: Exception) -> str:
    return getattr(exc, "msg", None) or str(exc)


def rule_ref(rule: RuleFile) -> RuleRef:
    return RuleRef(rule.rule_id, rule.name, rule.display_path)


def event_predicate(rule: RuleFile, fields: Any) -> tuple[Callable[[Mapping], bool], RequiredTerms]:
    """The rule as a per-event predicate plus its required terms.

    Raises ``UnsupportedRule`` for rules a backtest cannot run event by event and
    ``DetectionError`` for queries that do not compile.
    """
    from detection import engine

    kind, language = rule.type, rule.language or ""
    if rule.query is None:
        raise engine.UnsupportedRule(f"this {kind} rule has no query")
    if kind in ("query", "saved_query"):
        if rule.rule.get("filters"):
            raise engine.UnsupportedRule("rules with `filters` are not supported in backtest: only the query is evaluated")
        if language == "kuery":
            from detection.kql.requirements import required_terms

            predicate = engine.compile_kuery(rule, fields)
            return predicate, required_terms(predicate.kql_node, fields)
        if language == "lucene":
            from detection.kql.requirements import required_terms

            predicate = _lucene_predicate(rule, fields)
            # Lucene's tree is KQL's and/or/not over KQL leaves (plus patterns, which give no term).
            node = getattr(predicate, "lucene_node", None)
            return predicate, required_terms(node, fields) if node is not None else RequiredTerms()
    if kind == "eql" and language == "eql":
        return _eql_predicate(rule, fields)
    reasons = {
        "threshold": "threshold rules count events per group over a time window",
        "new_terms": "new_terms rules compare each value with a history window",
        "esql": "ES|QL rules aggregate over the whole result",
        "machine_learning": "machine learning rules read anomaly results, not events",
        "threat_match": "indicator match rules join events with an indicator index",
    }
    why = reasons.get(kind, f"{kind} ({language}) rules have no per-event query")
    raise engine.UnsupportedRule(f"not supported in backtest: {why}")


def _query_error(rule: RuleFile, label: str, exc: Any) -> DetectionError:
    """A query that does not compile: F130 at its position in the rule file, as `detection test` says it."""
    from detection.runners.common import CODE_QUERY, query_error

    return query_error(rule, exc.offset, CODE_QUERY, f"the {label} query does not compile: {exc.message}",
                       getattr(exc, "hint", None))


def _lucene_predicate(rule: RuleFile, fields: Any) -> Callable[[Mapping], bool]:
    from detection import lucene

    try:
        return lucene.compile(rule.query, fields)
    except lucene.LuceneError as exc:
        raise _query_error(rule, "Lucene", exc) from None


def _eql_predicate(rule: RuleFile, fields: Any) -> tuple[Callable[[Mapping], bool], RequiredTerms]:
    from detection import engine, eql
    from detection.kql.requirements import eql_required_terms

    category_field = rule.rule.get("event_category_override") or "event.category"
    try:
        compiled = eql.compile(rule.query, fields, event_category_field=category_field,
                               timestamp_field=rule.rule.get("timestamp_field") or "@timestamp",
                               tiebreaker_field=rule.rule.get("tiebreaker_field"))
    except eql.EqlError as exc:
        raise _query_error(rule, "EQL", exc) from None
    if compiled.kind != "event":
        raise engine.UnsupportedRule(f"not supported in backtest: EQL {compiled.kind} queries need the whole "
                                     "time-ordered stream")
    if compiled.query.pipes:
        raise engine.UnsupportedRule("not supported in backtest: EQL pipes (head/tail) act on one rule run's results")
    return compiled.matches, eql_required_terms(compiled.query, category_field, fields)


def scheduled_rule(rule: RuleFile, fields: Any) -> tuple[ScheduledRule, Callable[[Mapping], bool], RequiredTerms]:
    """A multi-event rule's runner and first-pass filter (``fields`` already narrowed to the rule).

    Raises ``UnsupportedRule`` or ``DetectionError`` as :func:`event_predicate` does.
    """
    from detection import engine
    from detection.backtest_collect import collection
    from detection.backtest_schedule import interval_ns

    collect = collection(rule, fields)
    detector = engine.prepare(rule, fields)
    interval_ns(rule)  # an unreadable interval is reported before the events are read
    return ScheduledRule(rule, detector, collect.description), collect.predicate, collect.requirements


def prepare_backtest(rules: Sequence[RuleFile], fields: Any = None, *, use_index: bool = True,
                     use_prefilter: bool = True) -> BacktestPlan:
    """Compile the rules once; ``fields`` is the project's whole field schema (narrowed per rule)."""
    from detection import engine
    from detection.backtest_collect import is_scheduled
    from detection.testing import fields_for

    refs: list[RuleRef] = []
    indexed: list[IndexedRule] = []
    skipped: list[Skipped] = []
    diagnostics: list[Diagnostic] = []
    scheduled: dict[int, ScheduledRule] = {}
    for rule in rules:
        plan_entry = None
        try:
            if is_scheduled(rule):
                plan_entry, predicate, required = scheduled_rule(rule, fields_for(fields, rule))
            else:
                predicate, required = event_predicate(rule, fields_for(fields, rule))
        except engine.UnsupportedRule as exc:
            skipped.append(Skipped(rule_ref(rule), str(exc)))
            continue
        except DetectionError as exc:
            diagnostics.extend(exc.diagnostics)
            continue
        if plan_entry is not None:
            scheduled[len(refs)] = plan_entry
        indexed.append(IndexedRule(len(refs), predicate, required))
        refs.append(rule_ref(rule))
    index = RuleIndex(indexed)
    prefilter = build_prefilter(r.requirements for r in indexed) if use_prefilter and indexed else Prefilter(None)
    matcher = Matcher(index, prefilter, use_index, frozenset(scheduled))
    return BacktestPlan(refs, matcher, skipped, diagnostics, scheduled)


# --------------------------------------------------------------------------- reading events


def is_event_file(path: Path) -> bool:
    return path.name.endswith(EVENT_SUFFIXES)


def discover_event_files(paths: Iterable[Path]) -> list[Path]:
    """Event files named or under the folders given, each folder's files sorted by path."""
    found: list[Path] = []
    problems: list[Diagnostic] = []
    for base in map(Path, paths):
        if base.is_dir():
            inside = sorted(p for p in base.rglob("*") if p.is_file() and is_event_file(p)
                            and not any(part.startswith(".") for part in p.relative_to(base).parts))
            if not inside:
                problems.append(Diagnostic(Location(display(base), 0, 0), CODE_NO_EVENTS,
                                           "no event files in this folder",
                                           hint=f"event files end with {', '.join(EVENT_SUFFIXES)}"))
            found.extend(inside)
        elif base.is_file():
            found.append(base)
        else:
            problems.append(Diagnostic(Location(str(base), 0, 0), CODE_UNREADABLE, "no such file or directory"))
    if problems:
        raise DetectionError(problems)
    return found


def iter_chunks(path: Path, size: int = CHUNK_SIZE) -> Iterator[tuple[bytes, int]]:
    """(chunk of whole lines, bytes of the file read so far); gzip is recognised by its magic bytes."""
    with open(path, "rb") as raw:
        magic = raw.read(2)
        raw.seek(0)
        stream: BinaryIO = gzip.GzipFile(fileobj=raw, mode="rb") if magic == b"\x1f\x8b" else raw  # type: ignore[assignment]
        rest = b""
        while True:
            block = stream.read(size)
            if not block:
                break
            data = rest + block if rest else block
            cut = data.rfind(b"\n") + 1
            if cut == 0:  # one line longer than a chunk: keep reading until it ends
                rest = data
                continue
            rest = data[cut:]
            yield data[:cut], raw.tell()
        if rest:
            yield rest, raw.tell()


@dataclass(frozen=True)
class Span:
    """Whole lines of an uncompressed file, by byte offsets: workers read them themselves."""

    path: str
    start: int
    end: int

    def read(self) -> bytes:
        with open(self.path, "rb") as handle:
            handle.seek(self.start)
            return handle.read(self.end - self.start)


def iter_tasks(path: Path, size: int = CHUNK_SIZE) -> Iterator[tuple[Span | bytes, int]]:
    """(work, bytes of the file covered so far): spans of a plain file, decompressed chunks of a gzip one.

    Only gzip streams must be read here, in order; a plain file is cut at line ends after
    reading a few bytes around each cut, so the data itself is read once, by a worker.
    """
    with open(path, "rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
        total = os.fstat(handle.fileno()).st_size
        if gzipped:
            handle.close()
            yield from iter_chunks(path, size)
            return
        start = 0
        while start < total:
            end = min(start + size, total)
            if end < total:
                handle.seek(end - 1)  # the chunk ends after the first newline from its last byte on
                while True:
                    block = handle.read(1 << 16)
                    if not block:
                        end = total
                        break
                    found = block.find(b"\n")
                    if found >= 0:
                        end = handle.tell() - len(block) + found + 1
                        break
            yield Span(str(path), start, end), end
            start = end


def task_bytes(task: Span | bytes) -> bytes:
    return task.read() if isinstance(task, Span) else task


# --------------------------------------------------------------------------- running


def _worker_init(matcher: Matcher, keep_events: bool) -> None:
    # Pool workers receive the compiled rules once, through fork; this slot is per process.
    # Everything inherited from the parent is left out of garbage collection: collecting it
    # would touch (and so copy) every page of the parent's heap.
    gc.freeze()
    _WORKER["matcher"] = matcher
    _WORKER["keep"] = keep_events


def _worker_scan(task: Span | bytes) -> ChunkResult:
    return _WORKER["matcher"].scan(task_bytes(task), _WORKER["keep"])


_WORKER: dict[str, Any] = {}


def default_jobs() -> int:
    """The cores this process may run on: a container or `taskset` limit counts, not the host's."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # no affinity on this platform
        return max(1, os.cpu_count() or 1)


def _results(matcher: Matcher, tasks: Iterator[tuple[int, Span | bytes]], jobs: int,
             keep_events: bool) -> Iterator[tuple[int, ChunkResult]]:
    """(file number, result) per chunk, in input order."""
    if jobs <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        # Without fork the compiled predicates cannot reach workers; one process does it all.
        for file_no, task in tasks:
            yield file_no, matcher.scan(task_bytes(task), keep_events)
        return
    context = multiprocessing.get_context("fork")
    with context.Pool(jobs, initializer=_worker_init, initargs=(matcher, keep_events)) as pool:
        pending: deque = deque()
        for file_no, task in tasks:
            pending.append((file_no, pool.apply_async(_worker_scan, (task,))))
            if len(pending) >= 2 * jobs:  # bounded: memory does not grow with the input
                done_file, done = pending.popleft()
                yield done_file, done.get()
        while pending:
            done_file, done = pending.popleft()
            yield done_file, done.get()


class _Collector:
    """Folds chunk results, in input order, into the run's counts, alert lines and diagnostics.

    Hits of scheduled rules are kept as (file number, line, raw line) for the second pass,
    ``max_collected`` of them at most: past it the rule holding the most is refused (dropped).
    """

    def __init__(self, plan: BacktestPlan, result: BacktestResult, out: BinaryIO | None,
                 max_collected: int = DEFAULT_MAX_COLLECTED):
        self.result, self.out = result, out
        self.names = [orjson.dumps(r.name) for r in plan.rules]
        self.ids = [orjson.dumps(r.rule_id) for r in plan.rules]
        self.file_names = [orjson.dumps(s) for s in result.files]
        self.line_base = [0] * len(result.files)  # lines of each file before the next chunk
        self.bad_lines = 0
        self.scheduled = frozenset(plan.scheduled)
        self.kept: dict[int, list[tuple[int, int, bytes]]] = {p: [] for p in plan.scheduled}
        self.refused: dict[int, int] = {}  # rule position -> events it matched in all
        self.held = 0
        self.max_collected = max_collected

    def keep(self, rule_pos: int, file_no: int, line: int, raw: bytes) -> None:
        kept = self.kept.get(rule_pos)
        if kept is None:
            self.refused[rule_pos] += 1
            return
        kept.append((file_no, line, raw))
        self.held += 1
        if self.held > self.max_collected:
            largest = max(self.kept, key=lambda p: len(self.kept[p]))
            dropped = self.kept.pop(largest)
            self.held -= len(dropped)
            self.refused[largest] = len(dropped)

    def add(self, file_no: int, chunk: ChunkResult) -> None:
        result, base, scheduled = self.result, self.line_base[file_no], self.scheduled
        for number, rule_pos in chunk.hits:
            if rule_pos in scheduled:
                self.keep(rule_pos, file_no, base + number + 1, chunk.events[number])
                continue
            result.counts[rule_pos].alerts += 1
            if self.out is not None:
                self.out.write(b'{"rule_id":' + self.ids[rule_pos] + b',"rule_name":' + self.names[rule_pos]
                               + b',"file":' + self.file_names[file_no] + b',"line":'
                               + str(base + number + 1).encode() + b',"event":' + chunk.events[number] + b"}\n")
        for number, column, code, message in chunk.errors:
            if self.bad_lines < MAX_REPORTED_ERRORS:
                result.diagnostics.append(Diagnostic(Location(result.files[file_no], base + number + 1, column), code,
                                                     message, hint="each line of an events file is one JSON object"))
            self.bad_lines += 1
        self.bad_lines += chunk.error_count - len(chunk.errors)
        self.line_base[file_no] += chunk.lines
        result.lines += chunk.lines
        result.decoded += chunk.decoded

    def finish(self) -> None:
        if self.bad_lines > MAX_REPORTED_ERRORS:
            self.result.diagnostics.append(Diagnostic(
                Location(self.result.files[-1], 0, 0), CODE_BAD_JSON,
                f"{self.bad_lines - MAX_REPORTED_ERRORS} more bad lines not listed", severity=Severity.ERROR))


def run_backtest(plan: BacktestPlan, files: Sequence[Path], *, jobs: int | None = None,
                 out: BinaryIO | None = None, progress: Callable[[int, int, int, int], None] | None = None,
                 chunk_size: int = CHUNK_SIZE, max_collected: int = DEFAULT_MAX_COLLECTED) -> BacktestResult:
    """Run the plan's rules over ``files``; alerts go to ``out`` as NDJSON when given.

    ``progress(bytes_done, bytes_total, lines, alerts)`` is called after each chunk (of the
    streaming pass; scheduled rules' alerts are added after it). ``max_collected`` caps the
    events held for scheduled rules.
    """
    jobs = jobs or default_jobs()
    started = time.perf_counter()
    shown = [display(f) for f in files]
    result = BacktestResult([RuleCount(r) for r in plan.rules], plan.skipped, shown, jobs=jobs,
                            prefilter=plan.matcher.prefilter.mode, diagnostics=list(plan.diagnostics))
    if not plan.rules:
        result.seconds = time.perf_counter() - started
        return result
    sizes = [_size(f) for f in files]
    total = sum(sizes)
    position = [0] * len(files)  # bytes of each file handed out so far (compressed, for .gz)
    read_errors: list[Diagnostic] = []

    def tasks() -> Iterator[tuple[int, Span | bytes]]:
        for file_no, path in enumerate(files):
            try:
                for task, covered in iter_tasks(path, chunk_size):
                    position[file_no] = covered
                    yield file_no, task
            except (OSError, EOFError, gzip.BadGzipFile) as exc:
                read_errors.append(Diagnostic(Location(shown[file_no], 0, 0), CODE_UNREADABLE,
                                              f"cannot read events file: {getattr(exc, 'strerror', None) or exc}"))

    collector = _Collector(plan, result, out, max_collected)
    try:
        for file_no, chunk in _results(plan.matcher, tasks(), jobs, out is not None):
            collector.add(file_no, chunk)
            if progress is not None:
                progress(sum(sizes[:file_no]) + position[file_no], total, result.lines, result.alerts)
    except OSError as exc:  # a file that went away or became unreadable while a worker read it
        read_errors.append(Diagnostic(Location(str(getattr(exc, "filename", None) or "<events>"), 0, 0),
                                      CODE_UNREADABLE, f"cannot read events file: {exc.strerror or exc}"))
    collector.finish()
    result.diagnostics.extend(read_errors)
    replay_scheduled(plan, collector, result, out)
    result.bytes_read = total
    result.seconds = time.perf_counter() - started
    return result


def _decode(raw: bytes) -> dict:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)  # what the streaming pass accepted through its fallback


def schedule_kind(entry: ScheduledRule) -> str:
    if entry.rule.type == "eql":
        kind = entry.detector.compiled.kind
        return f"eql {kind}" if kind != "event" else "eql event query with pipes"
    return entry.rule.type


def replay_scheduled(plan: BacktestPlan, collector: _Collector, result: BacktestResult,
                     out: BinaryIO | None) -> None:
    """The second pass: each scheduled rule's runs over the events kept for it, one rule at a time."""
    from detection.backtest_schedule import DEFAULT_INTERVAL, replay

    for position, entry in plan.scheduled.items():
        rule = entry.rule
        info = Schedule(schedule_kind(entry), str(rule.rule.get("interval") or DEFAULT_INTERVAL), entry.collects)
        count = result.counts[position]
        count.schedule = info
        if position in collector.refused:
            info.refused, info.collected = True, collector.refused[position]
            cap = collector.max_collected
            why = f"more than --max-collected ({cap:,})" if info.collected > cap else \
                f"which with the other replayed rules' events passed --max-collected ({cap:,}) and it held the most of them then"
            result.diagnostics.append(Diagnostic(
                rule.location(("rule", "query")), CODE_TOO_MANY,
                f"{info.collected:,} events can take part in this {info.kind} rule's runs ({entry.collects}), "
                f"{why}: its runs were not replayed, to keep memory bounded",
                hint="backtest fewer or shorter event files, select fewer rules with --rule, or raise "
                     "--max-collected if memory allows (each event held takes about its line's size, several times "
                     "that once decoded)"))
            continue
        started = time.perf_counter()
        kept = collector.kept.pop(position)
        info.collected = len(kept)
        events = [_decode(raw) for _, _, raw in kept]
        if rule.type == "esql":
            # Each event's own name, so that a row keeping METADATA _id names it in every run.
            for event, (file_no, line, _) in zip(events, kept, strict=True):
                event.setdefault("_id", f"{result.files[file_no]}:{line}")
        try:
            outcome = replay(rule, entry.detector, events)
        except DetectionError as exc:
            result.diagnostics.extend(exc.diagnostics)
            continue
        except Exception as exc:  # noqa: BLE001 - one rule's odd events must not end the others' replay
            result.diagnostics.append(Diagnostic(rule.location(("rule", "query")), CODE_EVALUATION,
                                                 f"replaying this rule's runs failed: {type(exc).__name__}: {exc}",
                                                 hint="run the rule's fixture cases with `detection test` to see "
                                                      "which events it cannot evaluate"))
            continue
        count.alerts = len(outcome.alerts)
        info.runs, info.repeats, info.untimed, info.partial_history = (outcome.runs, outcome.repeats,
                                                                       outcome.untimed, outcome.partial)
        if outcome.first_run is not None and outcome.last_run is not None:
            info.first_run, info.last_run = format_ns(to_ns(outcome.first_run)), format_ns(to_ns(outcome.last_run))
        if out is not None:
            _write_scheduled(out, collector, position, outcome.alerts, kept)
        info.seconds = time.perf_counter() - started


def _write_scheduled(out: BinaryIO, collector: _Collector, position: int, alerts: Sequence[Any],
                     kept: Sequence[tuple[int, int, bytes]]) -> None:
    head = b'{"rule_id":' + collector.ids[position] + b',"rule_name":' + collector.names[position]
    for alert in alerts:
        where = [b'{"file":' + collector.file_names[kept[i][0]] + b',"line":' + str(kept[i][1]).encode() + b"}"
                 for i in alert.events]
        first = kept[alert.events[0]] if alert.events else None
        record = (head + b',"run_time":"' + format_ns(to_ns(alert.run)).encode() + b'"'
                  + b',"file":' + (collector.file_names[first[0]] if first else b"null")
                  + b',"line":' + (str(first[1]).encode() if first else b"null")
                  + b',"events":[' + b",".join(where) + b"]")
        if alert.group is not None:
            record += b',"group":' + orjson.dumps(alert.group, default=str)
        if alert.partial_history:
            record += b',"partial_history":true'
        out.write(record + b',"event":' + (first[2] if first else b"null") + b"}\n")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


# --------------------------------------------------------------------------- the reference


def plain_backtest(rules: Sequence[tuple[Any, Callable[[Mapping], bool]]], files: Sequence[Path]) -> list[tuple[str, int, Any]]:
    """The loop the optimised path must agree with: decode every line, run every predicate.

    Returns (file as shown, 1-based line, rule key) per alert, in file, line and rule order.
    """
    out = []
    for path in files:
        shown = display(path)
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as handle:
            for line_no, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                event = json.loads(line)
                if not isinstance(event, dict):
                    continue
                out.extend((shown, line_no, key) for key, predicate in rules if predicate(event))
    return out
