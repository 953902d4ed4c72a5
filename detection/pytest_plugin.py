"""pytest plugin: every fixture case of a detection project is a pytest item.

Node ids name the fixture file, the rule and the case
(``fixtures/aws/x.yaml::AWS STS AssumeRole Usage::assume-role-by-role-session``), so ``-k``,
``-x``, ``--junitxml`` and pytest-xdist work as usual, and a failure shows the same explanation
as ``detection test``. The plugin is inert outside a project whose pyproject.toml has a
``[tool.detection]`` table: it collects nothing there.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from detection.config import load_config
from detection.diagnostics import DetectionError, Diagnostic
from detection.fixtures import FIXTURE_SUFFIXES
from detection.testing import SKIPPED, TestItem, TestPlan, TestSession, load_fields, plan_tests

_PROJECTS = pytest.StashKey[dict]()
_ROOTS = pytest.StashKey[dict]()


class _Project:
    """One detection project seen by this pytest run: its plan and a session to run items."""

    def __init__(self, root: Path):
        try:
            self.config = load_config(root)
        except DetectionError as exc:
            raise pytest.UsageError("\n".join(d.format() for d in exc.diagnostics)) from None
        self.fixtures_dir = self.config.fixtures_dir.resolve()
        self._plan: TestPlan | None = None
        self._session: TestSession | None = None
        self._fields_error: DetectionError | None = None

    @property
    def plan(self) -> TestPlan:
        # Built on first use, so runs that collect no fixture file never load the rules.
        if self._plan is None:
            self._plan = plan_tests(self.config)
        return self._plan

    def session(self) -> TestSession:
        if self._fields_error is not None:
            raise self._fields_error
        if self._session is None:
            try:
                self._session = TestSession(self.config, load_fields(self.config))
            except DetectionError as exc:
                self._fields_error = exc
                raise
        return self._session

    def problems_in(self, path: Path) -> list[Diagnostic]:
        # The file's own load problems (some located in the event files it reads), then any
        # other finding located in it (a fixture file that names no rule).
        found = list(self.plan.problems_by_file.get(path, []))
        found += [d for d in self.plan.diagnostics if Path(d.location.path).resolve() == path and d not in found]
        return found


def _root_of(config: pytest.Config, start: Path) -> Path | None:
    """The detection project containing ``start``: the nearest pyproject.toml with [tool.detection]."""
    cache = config.stash.setdefault(_ROOTS, {})
    folder = start if start.is_dir() else start.parent
    if folder not in cache:
        found = None
        for candidate in (folder, *folder.parents):
            pyproject = candidate / "pyproject.toml"
            if pyproject.is_file():
                text = pyproject.read_text(encoding="utf-8", errors="replace")
                found = candidate if "[tool.detection" in text else None
                break  # the nearest pyproject decides, as for pytest's own rootdir
        cache[folder] = found
    return cache[folder]


def _project_for(config: pytest.Config, path: Path) -> _Project | None:
    root = _root_of(config, path.resolve())
    if root is None:
        return None
    projects = config.stash.setdefault(_PROJECTS, {})
    if root not in projects:
        projects[root] = _Project(root)
    project = projects[root]
    resolved = path.resolve()
    if resolved != project.fixtures_dir and not resolved.is_relative_to(project.fixtures_dir):
        return None
    return project


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in FIXTURE_SUFFIXES or file_path.name.startswith("."):
        return None
    project = _project_for(parent.config, file_path)
    if project is None:
        return None
    return FixtureFile.from_parent(parent, path=file_path, project=project)


if hasattr(pytest, "Dir"):  # pytest 8+: the fixtures folder also carries rule-level checks

    def pytest_collect_directory(path: Path, parent: pytest.Collector) -> pytest.Collector | None:
        project = _project_for(parent.config, path)
        if project is None or path.resolve() != project.fixtures_dir:
            return None
        return FixturesFolder.from_parent(parent, path=path)

    class FixturesFolder(pytest.Dir):
        """The project's fixtures folder: its files, plus checks of rules that have no fixture file."""

        def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
            yield from super().collect()
            self.project = _project_for(self.config, self.path)
            assert self.project is not None  # pytest_collect_directory checked it
            elsewhere = [d for d in self.project.plan.diagnostics
                         if not Path(d.location.path).resolve().is_relative_to(self.project.fixtures_dir)]
            if elsewhere:  # rule files that did not load: their cases cannot run
                yield ProblemsItem.from_parent(self, name="[rule files]", diagnostics=elsewhere)
            for test_item in self.project.plan.unbound_items:
                yield RuleGroup.from_parent(self, name=_safe(test_item.rule.name), items=[test_item],
                                            project=self.project)


class FixtureFile(pytest.File):
    """A fixture file: one group per rule it tests, or a located collection error."""

    def __init__(self, *args: Any, project: _Project, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.project = project

    def collect(self) -> Iterator[pytest.Collector]:
        problems = self.project.problems_in(self.path.resolve())
        if problems:
            raise FixtureProblem(problems)
        items = self.project.plan.items_by_file.get(self.path.resolve(), [])
        groups: dict[str, list[TestItem]] = {}
        for item in items:
            groups.setdefault(item.rule.name, []).append(item)
        for rule_name, members in groups.items():
            yield RuleGroup.from_parent(self, name=_safe(rule_name), items=members, project=self.project)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, FixtureProblem):
            return "\n".join(d.format() for d in excinfo.value.diagnostics)
        return str(super().repr_failure(excinfo))


class RuleGroup(pytest.Collector):
    """The cases of one rule (and its policy check)."""

    def __init__(self, *args: Any, items: list[TestItem], project: _Project, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.test_items = items
        self.project = project

    def collect(self) -> Iterator[pytest.Item]:
        for test_item in self.test_items:
            yield CaseItem.from_parent(self, name=_safe(test_item.name), test_item=test_item, project=self.project)


class CaseItem(pytest.Item):
    """One fixture case (or a rule's fixture policy check)."""

    def __init__(self, *args: Any, test_item: TestItem, project: _Project, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.test_item = test_item
        self.project = project
        # -k can select by rule id and rule file too, as with `detection test -k`.
        self.extra_keyword_matches.update({test_item.rule.rule_id, test_item.rule.display_path})

    def runtest(self) -> None:
        try:
            session = self.project.session()
        except DetectionError as exc:
            raise FixtureProblem(exc.diagnostics) from None
        result = session.run(self.test_item)
        self.user_properties.append(("rule_id", result.rule_id))
        if result.outcome == SKIPPED:
            pytest.skip(result.message)
        if not result.ok:
            raise CaseFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        from detection.reporting import failure_text

        if isinstance(excinfo.value, CaseFailed):
            return failure_text(excinfo.value.result)
        if isinstance(excinfo.value, FixtureProblem):
            return "\n".join(d.format() for d in excinfo.value.diagnostics)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        location = self.test_item.location
        return self.path, max(location.line - 1, 0), self.test_item.id


class ProblemsItem(pytest.Item):
    """Fails with the located problems of files outside the fixtures folder (the rules)."""

    def __init__(self, *args: Any, diagnostics: list[Diagnostic], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.diagnostics = diagnostics

    def runtest(self) -> None:
        raise FixtureProblem(self.diagnostics)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, FixtureProblem):
            return "\n".join(d.format() for d in excinfo.value.diagnostics)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, "rule files that did not load"


class CaseFailed(AssertionError):
    """A case whose alerts differ from its expectation (or that could not run)."""

    def __init__(self, result: Any):
        super().__init__(result.message)
        self.result = result


class FixtureProblem(Exception):
    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__("\n".join(d.format() for d in diagnostics))
        self.diagnostics = diagnostics


def _safe(name: str) -> str:
    # "::" separates node id parts.
    return name.replace("::", ": :")
