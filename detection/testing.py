"""Fixture-driven rule tests: plan which cases to run, run them, and collect the results.

``plan_tests`` binds fixture files to rules (by ``rule:`` id or by mirrored path), applies the
selection (paths, rule ids, ``-k``) and adds one policy item per rule that needs positive and
negative cases. ``TestSession.run`` runs one item; ``run_tests`` does both for the CLI. The
pytest plugin uses the same two steps, so both report the same outcomes and explanations.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detection import engine
from detection.config import ProjectConfig
from detection.diagnostics import DetectionError, Diagnostic, Location, sort_diagnostics
from detection.fixtures import CODE_NO_RULE, Case, FixtureFile, load_fixture_files, mirrored_key
from detection.keyword_expr import compile_keyword
from detection.loader import RULE_SUFFIXES, LoadResult, discover_rule_files, display, load_rules
from detection.model import RuleFile

PASSED, FAILED, ERROR, SKIPPED = "passed", "failed", "error", "skipped"
POLICY_NAME = "[policy]"
CODE_UNKNOWN_RULE = "F115"  # --rule names no loaded rule
MAX_EXPLAINED_EVENTS = 20


@dataclass(frozen=True)
class TestItem:
    """One thing to run: a case of a rule, or the rule's fixture policy check."""

    __test__ = False  # not a pytest test class

    rule: RuleFile
    case: Case | None = None
    cases: tuple[Case, ...] = ()  # for the policy item: every case of the rule
    broken_fixture: str | None = None  # for the policy item: the rule's fixture file, when it did not load

    @property
    def kind(self) -> str:
        return "case" if self.case is not None else "policy"

    @property
    def name(self) -> str:
        return self.case.name if self.case is not None else POLICY_NAME

    @property
    def id(self) -> str:
        return f"{self.rule.name}::{self.name}"

    @property
    def location(self) -> Location:
        return self.case.location if self.case is not None else self.rule.location(("rule", "rule_id"))

    def keywords(self) -> list[str]:
        words = [self.rule.rule_id, self.rule.name, self.rule.display_path, self.name, self.kind]
        if self.case is not None:
            words.append(self.case.fixture)
        return words


@dataclass(frozen=True)
class EventExplanation:
    """Why one event did or did not raise an alert."""

    index: int  # 0-based position in the case
    alerted: bool
    text: str  # the query tree with each clause's result and the event's values
    data: Any = None  # the same as JSON-ready data


@dataclass(frozen=True)
class CaseResult:
    rule_id: str
    rule_name: str
    rule_path: str
    case: str
    kind: str  # "case" or "policy"
    outcome: str  # passed, failed, error, skipped
    location: Location
    message: str = ""
    expected: str | None = None
    expected_alerts: int | None = None
    actual_alerts: int | None = None
    query: str | None = None
    query_location: Location | None = None
    events: int = 0
    explanations: tuple[EventExplanation, ...] = ()
    duration: float = 0.0
    description: str | None = None
    summary: str = ""  # for failed multi-event cases: the run window, groups, terms, rows...

    @property
    def id(self) -> str:
        return f"{self.rule_name}::{self.case}"

    @property
    def ok(self) -> bool:
        return self.outcome in (PASSED, SKIPPED)


@dataclass
class TestPlan:
    __test__ = False

    items: list[TestItem] = field(default_factory=list)
    rules: list[RuleFile] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    cases_by_rule: dict[str, list[Case]] = field(default_factory=dict)
    # For collectors that work file by file (pytest): each fixture file's items, by resolved
    # path, and the items of rules that have no fixture file at all.
    items_by_file: dict[Path, list[TestItem]] = field(default_factory=dict)
    unbound_items: list[TestItem] = field(default_factory=list)
    # Each fixture file that did not load, by resolved path, with its problems (some are located
    # in the event files it reads, not in the fixture file itself).
    problems_by_file: dict[Path, list[Diagnostic]] = field(default_factory=dict)


@dataclass
class TestRun:
    __test__ = False

    results: list[CaseResult] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    coverage: list[Any] | None = None  # RuleCoverage records when asked for
    duration: float = 0.0

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)

    @property
    def ok(self) -> bool:
        return not self.diagnostics and all(r.ok for r in self.results)


# --------------------------------------------------------------------------- planning


def plan_tests(config: ProjectConfig, paths: Sequence[Path | str] = (), rule_ids: Sequence[str] = (),
               keyword: str | None = None, loaded: LoadResult | None = None) -> TestPlan:
    """Which cases to run. ``paths`` may name rule files/folders or fixture files/folders.

    ``loaded``: the rules of ``config.rules_dirs`` when the caller has read them already
    (``detection check`` does), so that each rule file is parsed once per run."""
    plan = TestPlan()
    matcher = compile_keyword(keyword) if keyword else None
    rule_args, fixture_args = _split_paths(paths, config)
    extra_rules = [p for p in rule_args if not _inside_any(p, config.rules_dirs)]
    if loaded is None or extra_rules:
        loaded = load_rules([d for d in config.rules_dirs if Path(d).exists()] + extra_rules)
    fixtures = load_fixture_files([config.fixtures_dir] if config.fixtures_dir.exists() else [], config.root)

    narrowed = bool(paths or rule_ids)
    selected_files = {p.resolve() for p in discover_rule_files(rule_args)} if rule_args else set()
    by_id = {r.rule_id: r for r in loaded.rules}
    by_key = {key: r for r in loaded.rules for key in [_rule_key(r, config)] if key is not None}

    bound: dict[str, list[FixtureFile]] = {}
    orphans: list[Diagnostic] = []
    for fixture in fixtures.files:
        rule = by_id.get(fixture.rule_id) if fixture.rule_id else by_key.get(mirrored_key(fixture.path, config.fixtures_dir))
        if rule is None:
            orphans.append(_orphan(fixture, config))
            continue
        bound.setdefault(rule.rule_id, []).append(fixture)

    # Select rules.
    chosen: list[RuleFile] = []
    for rule in loaded.rules:
        if narrowed:
            by_path = rule_args and rule.path.resolve() in selected_files
            by_fixture = fixture_args and any(_inside_any(f.path, fixture_args) for f in bound.get(rule.rule_id, []))
            if (rule_args or fixture_args) and not (by_path or by_fixture):
                continue
            if rule_ids and rule.rule_id not in rule_ids and rule.name not in rule_ids:
                continue
        chosen.append(rule)
    known = {r.rule_id for r in loaded.rules} | {r.name for r in loaded.rules}
    for wanted in rule_ids:
        if wanted not in known:
            plan.diagnostics.append(Diagnostic(Location("--rule", 0, 0), CODE_UNKNOWN_RULE,
                                               f"no rule has the rule_id or name {wanted!r}",
                                               hint="check the id with `detection validate` or list the rule's file"))
    plan.rules = chosen

    # Problems worth showing: all of them for a full run, those of the selection otherwise.
    chosen_paths = {r.display_path for r in chosen}
    chosen_keys = {_rule_key(r, config) for r in chosen}
    for diag in loaded.diagnostics:
        if not narrowed or diag.location.path in chosen_paths or _shown_inside(diag.location.path, rule_args):
            plan.diagnostics.append(diag)
    for path, problems in fixtures.problems.items():
        plan.problems_by_file[path.resolve()] = list(problems)
        if not narrowed or mirrored_key(path, config.fixtures_dir) in chosen_keys or _inside_any(path, fixture_args):
            plan.diagnostics.extend(problems)
    for diag in orphans:
        if not narrowed or _shown_inside(diag.location.path, fixture_args):
            plan.diagnostics.append(diag)
    plan.diagnostics = sort_diagnostics(plan.diagnostics)

    for rule in sorted(chosen, key=lambda r: r.display_path):
        files = sorted(bound.get(rule.rule_id, []), key=lambda f: f.path)
        cases = [c for f in files for c in f.cases]
        plan.cases_by_rule[rule.rule_id] = cases
        broken = None if files else _broken_fixture(rule, config, plan.problems_by_file)
        policy = [TestItem(rule, None, tuple(cases), broken)] if _needs_policy(rule, config) else []
        for number, fixture in enumerate(files):
            items = [TestItem(rule, case) for case in fixture.cases] + (policy if number == 0 else [])
            items = [i for i in items if matcher is None or matcher(i.keywords())]
            plan.items_by_file.setdefault(fixture.path.resolve(), []).extend(items)
            plan.items.extend(items)
        if not files:
            items = [i for i in policy if matcher is None or matcher(i.keywords())]
            plan.unbound_items.extend(items)
            plan.items.extend(items)
    return plan


def _split_paths(paths: Sequence[Path | str], config: ProjectConfig) -> tuple[list[Path], list[Path]]:
    rules, fixtures = [], []
    for p in paths:
        p = Path(p)
        (fixtures if _inside_any(p, [config.fixtures_dir]) else rules).append(p)
    return rules, fixtures


def _inside_any(path: Path, bases: Iterable[Path]) -> bool:
    resolved = Path(path).resolve()
    return any(resolved == Path(b).resolve() or resolved.is_relative_to(Path(b).resolve()) for b in bases)


def _shown_inside(shown: str, bases: Iterable[Path]) -> bool:
    return _inside_any(Path(shown), bases)


def _rule_key(rule: RuleFile, config: ProjectConfig) -> tuple[str, ...] | None:
    for base in config.rules_dirs:
        key = mirrored_key(rule.path, base)
        if key is not None:
            return key
    return None


def _orphan(fixture: FixtureFile, config: ProjectConfig) -> Diagnostic:
    key = mirrored_key(fixture.path, config.fixtures_dir) or (fixture.path.stem,)
    for base in config.rules_dirs:
        for suffix in RULE_SUFFIXES:
            candidate = Path(base, *key[:-1], key[-1] + suffix)
            if candidate.is_file():  # the rule is there but did not load
                return Diagnostic(Location(fixture.display_path, 1, 1), CODE_NO_RULE,
                                  f"the rule of this fixture file, {display(candidate)}, did not load",
                                  hint=f"fix the rule first: detection validate {display(candidate)}")
    if fixture.rule_id:
        return Diagnostic(fixture.rule_location or Location(fixture.display_path, 1, 1), CODE_NO_RULE,
                          f"no rule has rule_id {fixture.rule_id!r}",
                          hint="fix the id, or remove `rule:` to bind the file by its path")
    wanted = display(Path(config.rules_dirs[0] if config.rules_dirs else "rules", *key[:-1], key[-1] + ".*"))
    return Diagnostic(Location(fixture.display_path, 1, 1), CODE_NO_RULE,
                      f"no rule for this fixture file: expected {wanted}",
                      hint="move the file to mirror its rule's path, or add `rule: <rule_id>` at the top")


def _needs_policy(rule: RuleFile, config: ProjectConfig) -> bool:
    if rule.maturity in config.exempt_maturities:
        return False
    return config.require_positive or config.require_negative


# --------------------------------------------------------------------------- running


class TestSession:
    """Runs items; prepares each rule once and reuses it for all of its cases."""

    __test__ = False

    def __init__(self, config: ProjectConfig, fields: Any = None):
        self.config = config
        self.fields = fields  # the project's whole field schema; narrowed per rule
        self._detectors: dict[Path, Any] = {}

    def detector(self, rule: RuleFile) -> engine.Detector:
        if rule.path not in self._detectors:
            try:
                self._detectors[rule.path] = engine.prepare(rule, fields_for(self.fields, rule))
            except (engine.UnsupportedRule, DetectionError) as exc:
                self._detectors[rule.path] = exc
        found = self._detectors[rule.path]
        if isinstance(found, Exception):
            raise found
        return found

    def run(self, item: TestItem) -> CaseResult:
        start = time.perf_counter()
        result = self._run_case(item) if item.case is not None else self._run_policy(item)
        return _with_duration(result, time.perf_counter() - start)

    def _base(self, item: TestItem, outcome: str, message: str, **extra: Any) -> CaseResult:
        rule = item.rule
        return CaseResult(rule_id=rule.rule_id, rule_name=rule.name, rule_path=rule.display_path, case=item.name,
                          kind=item.kind, outcome=outcome, location=item.location, message=message,
                          description=item.case.description if item.case else None, **extra)

    def _run_case(self, item: TestItem) -> CaseResult:
        rule, case = item.rule, item.case
        assert case is not None
        facts = {"expected": case.expect.describe(), "expected_alerts": case.expect.alerts,
                 "query": rule.query, "query_location": _query_location(rule), "events": len(case.events)}
        try:
            detect = self.detector(rule)
        except engine.UnsupportedRule as exc:
            return self._base(item, SKIPPED, str(exc), **facts)
        except DetectionError as exc:
            return self._base(item, ERROR, "; ".join(d.format(with_hint=False) for d in exc.diagnostics), **facts)
        run_time = {"now": case.now} if case.now is not None else {}
        try:
            alerts = detect(case.events, **run_time)
        except DetectionError as exc:  # a rule setting the run needs (from, history_window_start...)
            return self._base(item, ERROR, "; ".join(d.format(with_hint=False) for d in exc.diagnostics), **facts)
        except Exception as exc:  # an evaluator error (e.g. a value Elasticsearch would reject)
            return self._base(item, ERROR, f"evaluating the query failed: {exc}", **facts)
        actual = len(alerts)
        missing = _unmatched_details(case, alerts) if actual == case.expect.alerts else []
        if actual == case.expect.alerts and not missing:
            return self._base(item, PASSED, f"{_alerts(actual)} as expected", actual_alerts=actual, **facts)
        hit = {i for a in alerts for i in (a.event_indexes or ((a.event_index,) if a.event_index is not None else ()))}
        explanations = tuple(self._explain(rule, i, event, i in hit)
                             for i, event in enumerate(case.events[:MAX_EXPLAINED_EVENTS]))
        message = f"expected {case.expect.describe()}, got {_alerts(actual)}"
        if missing:
            message += "; no alert matches " + " / ".join(missing)
        summary = _run_summary(detect, case, alerts)
        if missing:
            summary = "\n".join(["no alert matches: " + " / ".join(missing), summary]).strip()
        return self._base(item, FAILED, message, actual_alerts=actual, explanations=explanations, summary=summary,
                          **facts)

    def _explain(self, rule: RuleFile, index: int, event: Mapping[str, Any], alerted: bool) -> EventExplanation:
        try:
            tree = engine.explain_event(rule, event, fields_for(self.fields, rule))
        except Exception as exc:  # an explanation must never hide the failure itself
            return EventExplanation(index, alerted, f"(no explanation available: {exc})")
        if tree is None:
            return EventExplanation(index, alerted, "(no explanation available for this rule type)")
        return EventExplanation(index, alerted, tree.render_text(), tree.to_json())

    def _run_policy(self, item: TestItem) -> CaseResult:
        missing = policy_gaps(item.cases, self.config)
        if not missing:
            return self._base(item, PASSED, "has a positive and a negative case")
        fixture = _fixture_hint(item, self.config)
        if not item.cases and item.broken_fixture:
            message = f"rule has no fixture cases: {item.broken_fixture} did not load; fix the problems reported for it"
        elif not item.cases:
            message = f"rule has no fixture cases; create {fixture} with {' and '.join(missing)}"
        else:
            message = f"rule has no {' and no '.join(missing)}; add one to {fixture}"
        message += f" (maturity {item.rule.maturity} requires them; see [tool.detection.policy])"
        return self._base(item, FAILED, message)


def policy_gaps(cases: Sequence[Case], config: ProjectConfig) -> list[str]:
    """What the fixture policy still wants for a rule with these cases."""
    gaps = []
    if config.require_positive and not any(c.positive for c in cases):
        gaps.append("positive case (expect: alert or {alerts: N>0})")
    if config.require_negative and not any(not c.positive for c in cases):
        gaps.append("negative case (expect: no_alert)")
    return gaps


def _broken_fixture(rule: RuleFile, config: ProjectConfig, problems: Mapping[Path, Any]) -> str | None:
    """The rule's mirrored fixture file, as shown to users, when it exists but did not load."""
    from detection.fixtures import fixture_candidates

    for candidate in fixture_candidates(rule.path, config.rules_dirs, config.fixtures_dir):
        if candidate.resolve() in problems:
            return display(candidate)
    return None


def _fixture_hint(item: TestItem, config: ProjectConfig) -> str:
    if item.cases:
        return item.cases[0].fixture
    from detection.fixtures import fixture_candidates

    candidates = fixture_candidates(item.rule.path, config.rules_dirs, config.fixtures_dir)
    return display(candidates[0]) if candidates else f"a fixture file with `rule: {item.rule.rule_id}`"


def _unmatched_details(case: Case, alerts: Sequence[Any]) -> list[str]:
    """The case's listed alerts (``expect: {alerts: [...]}``) that no actual alert matches."""
    if not case.expect.details:
        return []
    from detection.runners.expect import describe_wanted, unmatched

    return [describe_wanted(case.expect.details[i]) for i in unmatched(case.expect.details, alerts)]


def _run_summary(detect: Any, case: Case, alerts: Sequence[Any]) -> str:
    """What the run saw (window, groups, terms...) and the alerts it raised, for a failed case."""
    from detection.runners.expect import describe_alert

    lines = []
    summarize = getattr(detect, "summary", None)
    if callable(summarize):
        try:
            text = summarize(case.events, **({"now": case.now} if case.now is not None else {}))
        except Exception as exc:  # a summary must never hide the failure itself
            text = f"(no summary available: {exc})"
        lines.extend(text.splitlines())
    if case.expect.details or any(getattr(a, "group", None) or len(a.event_indexes) > 1 for a in alerts):
        lines.extend(f"alert {n}: {describe_alert(a)}" for n, a in enumerate(alerts[:MAX_EXPLAINED_EVENTS], 1))
    return "\n".join(lines)


def _query_location(rule: RuleFile) -> Location | None:
    return rule.location(("rule", "query")) if rule.query is not None else None


def _alerts(n: int) -> str:
    return "no alert" if n == 0 else f"{n} alert" + ("" if n == 1 else "s")


def _with_duration(result: CaseResult, seconds: float) -> CaseResult:
    from dataclasses import replace

    return replace(result, duration=seconds)


# --------------------------------------------------------------------------- whole runs


def load_fields(config: ProjectConfig) -> Any:
    """The field types queries are evaluated with: shipped ECS and integration data plus the
    project's custom fields (``fields-dir``); None while the field package is unavailable."""
    try:
        from detection import fields as field_data
    except ImportError:  # pragma: no cover - the package ships with detection
        return None
    return field_data.default_schema().merge(field_data.load_custom_fields(config.fields_dir))


def fields_for(schema: Any, rule: RuleFile) -> Any:
    """The part of the schema that applies to the rule's index patterns."""
    if schema is None:
        return None
    return schema.for_indices(rule.index or None)


def run_tests(config: ProjectConfig, paths: Sequence[Path | str] = (), rule_ids: Sequence[str] = (),
              keyword: str | None = None, coverage: bool = False, loaded: LoadResult | None = None) -> TestRun:
    """Plan and run every selected case; optionally measure condition coverage per rule.
    ``loaded`` as for ``plan_tests``."""
    start = time.perf_counter()
    plan = plan_tests(config, paths, rule_ids, keyword, loaded)
    try:
        fields = load_fields(config)
    except DetectionError as exc:  # broken custom field files: nothing can be evaluated reliably
        return TestRun(diagnostics=sort_diagnostics([*plan.diagnostics, *exc.diagnostics]),
                       duration=time.perf_counter() - start)
    session = TestSession(config, fields)
    run = TestRun(results=[session.run(item) for item in plan.items], diagnostics=list(plan.diagnostics))
    if coverage:
        from detection.coverage import rule_coverage

        wanted = {i.rule.rule_id for i in plan.items}
        run.coverage = [rule_coverage(r, plan.cases_by_rule.get(r.rule_id, []), fields_for(fields, r))
                        for r in plan.rules if r.rule_id in wanted]
    run.duration = time.perf_counter() - start
    return run
