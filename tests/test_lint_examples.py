"""Every documented code: its bad example triggers it, its good example is clean.

The examples are what docs/lint-codes.md shows, so this also proves the page tells the truth.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from detection.lint import CHECKS, LintSettings
from detection.lint.docs import render_codes_page
from detection.lint.settings import Selection

from .conftest import REPO
from .lint_support import base_document, codes, lint_files, merged_rule_text, write_rule

RUNNABLE = [c for c in CHECKS.values() if c.scope in ("rule", "project") or c.code in ("L101", "L102")]
SETTINGS = LintSettings(allowed_tags=("Domain: Cloud", "Data Source: AWS"))


def _lint_example(tmp_path: Path, code: str, example: str):
    item = CHECKS[code]
    paths = [write_rule(tmp_path, merged_rule_text(example), "example.yaml")]
    if item.scope == "project":
        # A second rule: for uniqueness it shares the example's id/name; otherwise it is the base rule.
        other = base_document()
        other["rule"]["rule_id"] = "5f1d2a2e-5a4b-4c52-9d0e-2b7c9b1f4e11"
        other["rule"]["name"] = "Another Example Rule"
        # Uniqueness: the other rule always holds the bad example's id/name, so only bad collides.
        text = merged_rule_text(item.bad, other) if code.startswith("U") else \
            yaml.safe_dump(other, sort_keys=False)
        paths.append(write_rule(tmp_path, text, "other.yaml"))
    return lint_files(*paths, settings=SETTINGS).findings


@pytest.mark.parametrize("code", [c.code for c in RUNNABLE])
def test_bad_example_triggers_the_code(tmp_path: Path, code: str) -> None:
    found = codes(_lint_example(tmp_path, code, CHECKS[code].bad))
    assert code in found, f"{code} bad example gave {found}"


@pytest.mark.parametrize("code", [c.code for c in RUNNABLE])
def test_good_example_is_clean(tmp_path: Path, code: str) -> None:
    findings = _lint_example(tmp_path, code, CHECKS[code].good)
    assert [d.format() for d in findings] == []


def test_base_rule_is_clean(tmp_path: Path) -> None:
    path = write_rule(tmp_path, merged_rule_text(""))
    assert lint_files(path).findings == []


def test_every_code_is_documented_with_examples() -> None:
    for item in CHECKS.values():
        assert item.summary and item.explanation and item.bad and item.good, item.code
        assert item.name == item.name.lower() and " " not in item.name, item.code


def test_codes_page_is_up_to_date() -> None:
    committed = (REPO / "docs" / "lint-codes.md").read_text(encoding="utf-8")
    assert committed == render_codes_page(), "run: python -m detection.lint.docs docs/lint-codes.md"


def test_codes_page_has_an_anchor_per_code() -> None:
    page = render_codes_page()
    for code in CHECKS:
        assert f'<a id="{code.lower()}"></a>' in page


def test_selection_longest_prefix_wins() -> None:
    sel = Selection(select=("Q",), ignore=("Q1",))
    assert not sel.enabled("Q104")
    sel = Selection(select=("Q104",), ignore=("Q",))
    assert sel.enabled("Q104") and not sel.enabled("Q105")
    assert not Selection(select=("H",)).enabled("Q101")
    assert Selection().enabled("A101")
    assert not Selection(ignore=("ALL",)).enabled("A101")
    assert not Selection(select=("Q104",), ignore=("Q104",)).enabled("Q104")  # tie: ignore wins
    assert Selection(select=("ALL", "Q1O4")).unknown(CHECKS) == ["Q1O4"]
