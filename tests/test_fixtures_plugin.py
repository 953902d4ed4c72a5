"""The pytest plugin: fixture cases as pytest items, with -k, -x, --junitxml and xdist."""

from __future__ import annotations

import shutil
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

# Import everything the plugin loads lazily before any in-process pytester run: pytester drops
# modules first imported during a run, which would leave two copies of classes behind.
import detection.coverage  # noqa: F401
import detection.fields  # noqa: F401
import detection.kql  # noqa: F401
import detection.pytest_plugin  # noqa: F401
import detection.reporting  # noqa: F401
import detection.testing  # noqa: F401

from .conftest import REPO
from .test_fixtures_runner import (
    EVENTS_REL,
    FIXTURE_REL,
    PUBLISHED,
    make_seed_project,
    restore_published_query,
)

pytest_plugins = ["pytester"]

# The plugin by module name (the "detection" entry point is blocked in case the package is
# installed, so it is not registered twice); hypothesis is slow to load and unused here.
PLUGIN = ("-p", "no:detection", "-p", "detection.pytest_plugin", "-p", "no:hypothesispytest")
SEED_ID = f"{FIXTURE_REL}::AWS STS AssumeRole Usage::assume-role-by-role-session"


@pytest.fixture
def project(pytester: pytest.Pytester) -> Path:
    """The seed rule, its fixtures and the repository's pyproject in a scratch folder."""
    return make_seed_project(pytester.path)


def test_cases_are_items_named_by_rule_and_case(pytester: pytest.Pytester, project: Path):
    result = pytester.runpytest(*PLUGIN, "--collect-only", "-q")
    ids = [line for line in result.outlines if "::" in line]
    assert SEED_ID in ids
    assert f"{FIXTURE_REL}::AWS STS AssumeRole Usage::[policy]" in ids
    assert len(ids) >= 12


def test_all_cases_pass(pytester: pytest.Pytester, project: Path):
    result = pytester.runpytest(*PLUGIN)
    result.assert_outcomes(passed=12)
    assert result.ret == 0


def test_published_query_fails_with_the_explanation(pytester: pytest.Pytester, project: Path):
    restore_published_query(project)
    result = pytester.runpytest(*PLUGIN)
    result.assert_outcomes(passed=10, failed=2)
    assert result.ret == 1
    text = result.stdout.str()
    assert f"FAILED {SEED_ID}" in text
    line = next(x for x in result.outlines if PUBLISHED in x and "[event.action" in x)
    assert '[event.action = "AssumeRole"]' in line and "did you mean" in line
    assert "Traceback" not in text


def test_keyword_exitfirst_and_junitxml(pytester: pytest.Pytester, project: Path):
    restore_published_query(project)
    result = pytester.runpytest(*PLUGIN, "-k", "saml or 93075852 and chaining")
    result.assert_outcomes(passed=1)  # the rule id is a keyword too; no case name has "chaining"
    result = pytester.runpytest(*PLUGIN, "-x")
    result.assert_outcomes(failed=1)
    result = pytester.runpytest(*PLUGIN, "--junitxml=report.xml")
    suite = ET.parse(project / "report.xml").getroot().find("testsuite")
    assert suite.get("failures") == "2" and suite.get("tests") == "12"
    failed = [c for c in suite.iter("testcase") if c.find("failure") is not None]
    assert {c.get("name") for c in failed} == {"assume-role-by-role-session", "role-session-activity-from-search-hits"}
    assert PUBLISHED in failed[0].find("failure").text


def test_xdist_runs_the_cases(pytester: pytest.Pytester, project: Path):
    pytest.importorskip("xdist")
    restore_published_query(project)
    result = pytester.runpytest(*PLUGIN, "-n", "2")
    result.assert_outcomes(passed=10, failed=2)


def test_malformed_fixture_is_a_located_collection_error(pytester: pytest.Pytester, project: Path):
    (project / FIXTURE_REL).write_text("cases:\n  - name: no-expectation\n    event: {a: 1}\n")
    result = pytester.runpytest(*PLUGIN)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    text = result.stdout.str()
    assert f"{FIXTURE_REL}:2:5: F101 cases[0] is missing required field 'expect'" in text
    assert "Traceback" not in text and "detection/fixtures.py" not in text


def test_bad_json_in_an_events_file_is_a_located_collection_error(pytester: pytest.Pytester, project: Path):
    events = project / EVENTS_REL
    lines = events.read_text().splitlines()
    events.write_text("\n".join([lines[0], lines[1][:40], lines[2]]) + "\n")  # line 2 cut in half
    result = pytester.runpytest(*PLUGIN)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    text = result.stdout.str()
    assert f"ERROR {FIXTURE_REL}" in text
    assert f"{EVENTS_REL}:2:41: F112 invalid JSON on line 2" in text
    assert "create fixtures/" not in text  # the file exists; it is its events file that is broken
    assert "Traceback" not in text


def test_rule_without_fixture_file_fails_its_policy_item(pytester: pytest.Pytester, project: Path):
    (project / FIXTURE_REL).unlink()
    result = pytester.runpytest(*PLUGIN)
    result.assert_outcomes(failed=1)
    assert "fixtures::AWS STS AssumeRole Usage::[policy]" in result.stdout.str()
    assert "rule has no fixture cases; create" in result.stdout.str()


def test_plain_pytest_at_the_root_finds_the_plugin_and_the_cases():
    # The installed package registers the plugin with pytest, and testpaths take pytest to the
    # fixtures folder, so `pytest` with no arguments runs every case.
    settings = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert settings["project"]["entry-points"]["pytest11"] == {"detection": "detection.pytest_plugin"}
    assert settings["tool"]["detection"]["fixtures-dir"] in settings["tool"]["pytest"]["ini_options"]["testpaths"]


def test_plugin_is_inert_outside_a_detection_project(pytester: pytest.Pytester):
    pytester.makefile(".toml", pyproject='[project]\nname = "other"\n')
    (pytester.path / "fixtures").mkdir()
    shutil.copy(REPO / FIXTURE_REL, pytester.path / "fixtures" / "cases.yaml")
    result = pytester.runpytest(*PLUGIN, "fixtures")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
